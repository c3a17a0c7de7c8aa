using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>
/// A breached order stays in the SLA watcher's due index while one of its clocks still runs: the watcher moves
/// sla_due_at on to that clock when it records a breach, and to null once every clock has breached (decision 0008).
/// </summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261122010000_SlaLaterClocks")]
public sealed class SlaLaterClocks : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.Sql("""
            drop index ix_orders_sla_due;
            create index ix_orders_sla_due on orders (sla_due_at) where status = 'in-progress' and sla_due_at is not null;
            """);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.Sql("""
            drop index ix_orders_sla_due;
            create index ix_orders_sla_due on orders (sla_due_at) where status = 'in-progress' and sla_state <> 'breached';
            """);
    }
}
