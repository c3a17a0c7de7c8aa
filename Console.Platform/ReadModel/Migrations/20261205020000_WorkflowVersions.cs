using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>
/// The workflow is versioned (decision 0022): workflow_versions holds every definition Console.Ingest accepted with the
/// time it took effect; workflow_refusals the changes it refused; each order carries the version it is judged by; the
/// workflow's steps are kept per version, so order_steps reads an order's step times by its own version. Orders and
/// steps written before are version 1, the first version Ingest stores.
/// </summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261205020000_WorkflowVersions")]
public sealed class VersionedWorkflow : Migration
{
    public static readonly string OrderStepsView = UnplannedSteps.OrderStepsView.Replace(
        "cross join workflow_steps w", "join workflow_steps w on w.version = o.workflow_version", StringComparison.Ordinal);

    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql($"""
            create table workflow_versions (
                version integer primary key,
                definition jsonb not null,
                content_hash text not null,
                effective_at timestamptz not null);
            create table workflow_refusals (
                reason text primary key,
                first_refused_at timestamptz not null,
                last_refused_at timestamptz not null,
                resolved_at timestamptz);
            alter table orders add column workflow_version integer not null default 1;
            drop view order_steps;
            alter table workflow_steps add column version integer not null default 1;
            alter table workflow_steps drop constraint workflow_steps_pkey;
            alter table workflow_steps add primary key (version, step);
            alter table workflow_steps alter column version drop default;
            {OrderStepsView}
            """);

    protected override void Down(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql($"""
            drop view order_steps;
            delete from workflow_steps where version <> (select coalesce(max(version), 1) from workflow_steps);
            alter table workflow_steps drop constraint workflow_steps_pkey;
            alter table workflow_steps drop column version;
            alter table workflow_steps add primary key (step);
            {UnplannedSteps.OrderStepsView}
            alter table orders drop column workflow_version;
            drop table workflow_refusals;
            drop table workflow_versions;
            """);
}
