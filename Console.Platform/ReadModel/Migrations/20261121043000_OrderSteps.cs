using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>Per-step durations: one row per order and succeeded workflow step, written by the projection with the order.</summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261121043000_OrderSteps")]
public sealed class OrderSteps : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.Sql("""
            create table order_steps (
                order_id      text not null,
                step          text not null,
                -- when every step it runs after had succeeded (the order's first event for the first step); null until they have
                ready_at      timestamptz,
                -- first success, event time
                succeeded_at  timestamptz not null,
                -- succeeded_at - ready_at; negative when the step succeeded before the steps it runs after
                duration_ms   double precision,
                primary key (order_id, step)
            );
            """);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.Sql("drop table order_steps;");
    }
}
