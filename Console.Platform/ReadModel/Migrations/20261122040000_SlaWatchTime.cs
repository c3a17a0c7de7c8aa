using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>
/// The SLA watcher's index moves from sla_due_at, which changes with nearly every event, to sla_watch_at: when the watcher
/// must look at the order next, never later than sla_due_at, moved only when a deadline comes earlier or the watcher gets
/// there. An event that moves an order on (a later deadline) then changes no indexed column, and with room left on the
/// page (fillfactor 50) PostgreSQL rewrites the row in place, a heap-only update without new index entries: decision 0013.
/// </summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261122040000_SlaWatchTime")]
public sealed class SlaWatchTime : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("""
            alter table orders add column sla_watch_at timestamptz;
            update orders set sla_watch_at = sla_due_at where status = 'in-progress' and sla_due_at is not null;
            drop index ix_orders_sla_due;
            create index ix_orders_sla_watch on orders (sla_watch_at) where sla_watch_at is not null;
            alter table orders set (fillfactor = 50);
            """);

    protected override void Down(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("""
            alter table orders reset (fillfactor);
            drop index ix_orders_sla_watch;
            create index ix_orders_sla_due on orders (sla_due_at) where status = 'in-progress' and sla_due_at is not null;
            alter table orders drop column sla_watch_at;
            """);
}
