using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>
/// Two order-search filters read from an index instead of walking the in-flight orders (decision 0023): orders with an
/// open failure by status (partial on last_failure like ix_orders_failure_first_seen), and breached in-flight orders
/// newest first. Both are over columns that never change or change a few times in an order's life (status at its end,
/// last_failure on a failure and its recovery, sla_state when the SLA watcher breaches it or the projection turns it
/// at-risk), so Ingest's updates stay heap-only for every other event (decision 0013).
/// </summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261205030000_SearchInFlightFilters")]
public sealed class SearchInFlightFilters : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("""
            create index ix_orders_failure_status_first_seen on orders (status, first_seen_at, order_id) where last_failure is not null;
            create index ix_orders_breached_first_seen on orders (first_seen_at, order_id) where status = 'in-progress' and sla_state = 'breached';
            """);

    protected override void Down(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("drop index ix_orders_breached_first_seen; drop index ix_orders_failure_status_first_seen;");
}
