using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>
/// Every operational event rewrites its order's row (decision 0011), and each index on orders takes a new entry with it.
/// The console's list sorted by updated_at through an index of its own, a third entry per event; it now sorts the rows
/// its filter keeps (the count of the same filter already reads them all): decision 0012.
/// </summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261122030000_OrdersRowUpkeep")]
public sealed class OrdersRowUpkeep : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("""
            drop index ix_orders_updated_at;
            """);

    protected override void Down(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("""
            create index ix_orders_updated_at on orders (updated_at desc);
            """);
}
