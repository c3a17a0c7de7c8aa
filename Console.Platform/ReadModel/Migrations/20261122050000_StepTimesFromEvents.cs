using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>
/// An in-flight order's step times are no longer rewritten with its row on every event: order_steps reads them from
/// the order's events (the successes the fold applied, by their flags) and the workflow's dependencies in
/// workflow_steps, which Ingest writes at start. A finished order's row still carries them (step_names, step_ready_at,
/// step_succeeded_at), so the history stays a plain read of orders: decision 0014.
/// </summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261122050000_StepTimesFromEvents")]
public sealed class StepTimesFromEvents : Migration
{
    /// <summary>Events the fold applied as a success of their step (stored, but not duplicates, after-terminal or unknown).</summary>
    private const string Applied = "e.outcome = 'succeeded' and not (e.flags && array['duplicate', 'after-terminal', 'unknown-step'])";

    public const string OrderStepsView =
        $"""
        create view order_steps as
        select o.order_id, s.step, s.ready_at, s.succeeded_at,
               (extract(epoch from s.succeeded_at - s.ready_at) * 1000)::double precision as duration_ms
        from orders o cross join lateral unnest(o.step_names, o.step_ready_at, o.step_succeeded_at) as s(step, ready_at, succeeded_at)
        where o.status <> 'in-progress'
        union all
        select o.order_id, w.step, r.ready_at, t.succeeded_at,
               (extract(epoch from t.succeeded_at - r.ready_at) * 1000)::double precision
        from orders o
        cross join workflow_steps w
        cross join lateral (
            select min(e.occurred_at) as succeeded_at from order_events e
            where e.order_id = o.order_id and e.step = w.step and {Applied}) t
        cross join lateral (
            select case
                when cardinality(w.after) = 0 then
                    (select min(e.occurred_at) from order_events e where e.order_id = o.order_id and not (e.flags && array['duplicate']))
                when count(d.succeeded_at) = cardinality(w.after) then max(d.succeeded_at) end as ready_at
            from unnest(w.after) as a(step)
            cross join lateral (
                select min(e.occurred_at) as succeeded_at from order_events e
                where e.order_id = o.order_id and e.step = a.step and {Applied}) d) r
        where o.status = 'in-progress' and t.succeeded_at is not null;
        """;

    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql($"""
            create table workflow_steps (step text primary key, position integer not null, after text[] not null);
            drop view order_steps;
            {OrderStepsView}
            """);

    // In-flight orders written since Up have empty step arrays: their steps show again with their next event.
    protected override void Down(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql($"""
            drop view order_steps;
            {LeanerOrders.OrderStepsView}
            drop table workflow_steps;
            """);
}
