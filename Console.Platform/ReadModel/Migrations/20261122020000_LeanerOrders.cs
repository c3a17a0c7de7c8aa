using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>
/// Every operational event rewrites its order's row, and each index on orders is written again with it (decision 0011):
/// at-risk is read against the clock (no watcher update, so no index for it), and the list filtered by status walks the
/// updated_at index. The row no longer carries the folded state (its events in order_events fold it again), and the
/// per-step times are arrays on the row instead of a row per step: order_steps stays, as a view with the same columns.
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
            alter table orders drop column state;
            alter table orders
                add column step_names text[] not null default '{}',
                add column step_ready_at timestamptz[] not null default '{}',
                add column step_succeeded_at timestamptz[] not null default '{}';
            update orders o set step_names = s.names, step_ready_at = s.ready, step_succeeded_at = s.succeeded
            from (
                select order_id, array_agg(step order by succeeded_at) as names, array_agg(ready_at order by succeeded_at) as ready,
                       array_agg(succeeded_at order by succeeded_at) as succeeded
                from order_steps group by order_id
            ) s
            where o.order_id = s.order_id;
            drop table order_steps;
            """);
        migrationBuilder.Sql(OrderStepsView);
    }

    /// <summary>
    /// One row per order and succeeded workflow step: ready_at (every step it runs after had succeeded; the order's first
    /// event for the first step; null until then), succeeded_at (first success, event time), duration_ms (their
    /// difference; negative when the step succeeded before the steps it runs after).
    /// </summary>
    public const string OrderStepsView =
        """
        create view order_steps as
        select o.order_id, s.step, s.ready_at, s.succeeded_at,
               (extract(epoch from s.succeeded_at - s.ready_at) * 1000)::double precision as duration_ms
        from orders o cross join lateral unnest(o.step_names, o.step_ready_at, o.step_succeeded_at) as s(step, ready_at, succeeded_at);
        """;

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.Sql("""
            drop view order_steps;
            create table order_steps (
                order_id text not null, step text not null, ready_at timestamptz, succeeded_at timestamptz not null,
                duration_ms double precision, primary key (order_id, step));
            insert into order_steps
            select o.order_id, s.step, s.ready_at, s.succeeded_at, (extract(epoch from s.succeeded_at - s.ready_at) * 1000)::double precision
            from orders o cross join lateral unnest(o.step_names, o.step_ready_at, o.step_succeeded_at) as s(step, ready_at, succeeded_at);
            alter table orders drop column step_names, drop column step_ready_at, drop column step_succeeded_at;
            -- the folded state comes back empty: a new projection of the topic fills it
            alter table orders add column state json not null default '{}';
            create index ix_orders_status_updated_at on orders (status, updated_at desc);
            create index ix_orders_sla_at_risk on orders (sla_at_risk_at) where status = 'in-progress' and sla_state = 'on-track';
            """);
    }
}
