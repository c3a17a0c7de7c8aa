using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>
/// Steps the workflow does not name are stored as events flagged unplanned-step instead of quarantined (decision 0020):
/// unplanned_steps counts them per step name, kept by the projection in the batch's transaction; order_steps leaves them
/// out by the new flag name.
/// </summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261204080000_UnplannedSteps")]
public sealed class UnplannedSteps : Migration
{
    public static readonly string OrderStepsView = StepTimesFromEvents.OrderStepsView.Replace("'unknown-step'", "'unplanned-step'", StringComparison.Ordinal);

    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql($"""
            create table unplanned_steps (
                step text primary key,
                events bigint not null,
                orders bigint not null,
                first_seen_at timestamptz not null,
                last_seen_at timestamptz not null);
            drop view order_steps;
            {OrderStepsView}
            """);

    protected override void Down(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql($"""
            drop view order_steps;
            {StepTimesFromEvents.OrderStepsView}
            drop table unplanned_steps;
            """);
}
