using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>
/// Every operational event rewrites its order's row, and each index on orders is written again with it (decision 0011):
/// at-risk is read against the clock (no watcher update, so no index for it), and the list filtered by status walks
/// the updated_at index.
/// </summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261122020000_LeanerOrders")]
public sealed class LeanerOrders : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.Sql("""
            drop index ix_orders_sla_at_risk;
            drop index ix_orders_status_updated_at;
            """);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.Sql("""
            create index ix_orders_status_updated_at on orders (status, updated_at desc);
            create index ix_orders_sla_at_risk on orders (sla_at_risk_at) where status = 'in-progress' and sla_state = 'on-track';
            """);
    }
}
