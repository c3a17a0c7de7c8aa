using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>
/// Reads of the flow dashboard and the reports (issue 16). The dashboard reads the last hour of events: a BRIN index on
/// their append-order time costs the projection next to nothing (a summary per block range, not an entry per row);
/// breaches and dead letters already have indexes on their times. The reports read only terminal and outreach events: partial indexes hold just those rows, so
/// a report over months reads the few ended orders, never the whole event history.
/// </summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261204060000_FlowAndReports")]
public sealed class FlowAndReports : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("""
            create index ix_order_events_ingested_brin on order_events using brin (ingested_at);
            create index ix_order_events_terminal on order_events (occurred_at, order_id)
                where step in ('order-completed', 'order-expired', 'order-cancelled') and outcome = 'succeeded';
            create index ix_order_events_outreach on order_events (order_id, id)
                where attributes ? 'outreachCommandId';
            """);

    protected override void Down(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("""
            drop index ix_order_events_ingested_brin;
            drop index ix_order_events_terminal;
            drop index ix_order_events_outreach;
            """);
}
