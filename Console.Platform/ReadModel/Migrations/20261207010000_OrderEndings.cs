using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>
/// The expiry report is read from counts kept as events arrive instead of from the history (decision 0028): its query
/// found each order's earliest terminal event among every terminal event of the range, 70 s over a month of 11 M orders.
/// <para>
/// order_endings holds, per ended order, its earliest applied terminal event (earliest <c>occurred_at</c>, then id: a
/// duplicate or a second terminal event counts nothing; one arriving late with an earlier time moves the order to its
/// own period), who ended it and the step whose deadline was breached first. A statement trigger on order_events keeps
/// it (the projection's COPY, a bulk load, plain SQL alike); <c>order_endings_recheck()</c>, called by Console.Ingest's
/// upkeep every minute, corrects the breached step of orders whose breach was recorded after (or while) they ended — a
/// trigger on sla_breaches would neither see an ending written concurrently nor take its locks in the projection's order.
/// ended_per_day counts order_endings per UTC day, step, reason and breached step, kept by
/// statement triggers on order_endings; each backend writes its own rows (shard = its pid, as flow_step_counts,
/// decision 0024), and <c>ended_per_day_fold()</c> folds the rows of ended backends into shard 0.
/// </para>
/// </summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261207010000_OrderEndings")]
public sealed class OrderEndings : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("""
            create table order_endings (
                order_id text primary key,
                step text not null,
                occurred_at timestamptz not null,
                event_id bigint not null,
                reason text not null,
                breached_step text not null);

            create table ended_per_day (
                shard integer not null,
                day date not null,
                step text not null,
                reason text not null,
                breached_step text not null,
                orders bigint not null,
                primary key (shard, day, step, reason, breached_step));

            -- Who ended an order, from its terminal event (the rule the report used when it read the history).
            create function order_ending_reason(attributes jsonb, service text) returns text language sql immutable as $$
                select case when attributes ? 'requestedBy' then 'operator'
                            when attributes ->> 'expiredBy' = 'order-flow-console' or service = 'order-flow-console' then 'sla-watcher'
                            else 'other' end
            $$;

            -- The step whose deadline the order breached first, as recorded now.
            create function order_breached_step(ended_order text) returns text language sql stable as $$
                select coalesce((select b.scope from sla_breaches b where b.order_id = $1 order by b.due_at, b.id limit 1), 'no breach recorded')
            $$;

            create function order_endings_from_events() returns trigger language plpgsql as $$
            begin
                insert into order_endings as x (order_id, step, occurred_at, event_id, reason, breached_step)
                select distinct on (n.order_id) n.order_id, n.step, n.occurred_at, n.id, order_ending_reason(n.attributes, n.service), order_breached_step(n.order_id)
                from added n
                where n.step in ('order-completed', 'order-expired', 'order-cancelled') and n.outcome = 'succeeded'
                order by n.order_id, n.occurred_at, n.id
                on conflict (order_id) do update set
                    step = excluded.step, occurred_at = excluded.occurred_at, event_id = excluded.event_id,
                    reason = excluded.reason, breached_step = excluded.breached_step
                where (excluded.occurred_at, excluded.event_id) < (x.occurred_at, x.event_id);
                return null;
            end $$;

            -- The breached step of orders whose breach was recorded since the given moment, where it changed: a breach the
            -- SLA watcher commits while the projection writes the order's ending is not seen by the ending's trigger (neither
            -- transaction sees the other's rows). Console.Ingest's upkeep calls this every minute. Rows are locked in order_id
            -- order, as the projection's upsert takes them, so the two never wait on each other crosswise.
            create function order_endings_recheck(since timestamptz) returns integer language plpgsql as $$
            declare
                corrected integer;
            begin
                update order_endings x set breached_step = l.breached_step
                from (
                    select e.order_id, order_breached_step(e.order_id) as breached_step from order_endings e
                    where e.order_id in (select b.order_id from sla_breaches b where b.detected_at >= since)
                    order by e.order_id for update of e
                ) l
                where x.order_id = l.order_id and x.breached_step is distinct from l.breached_step;
                get diagnostics corrected = row_count;
                return corrected;
            end $$;

            -- Deletes, not truncate: a "truncate order_events, order_endings" holds order_endings open in this statement.
            create function order_endings_truncated() returns trigger language plpgsql as $$
            begin
                delete from order_endings;
                delete from ended_per_day;
                return null;
            end $$;

            create function ended_per_day_added() returns trigger language plpgsql as $$
            begin
                insert into ended_per_day as c (shard, day, step, reason, breached_step, orders)
                select pg_backend_pid(), (n.occurred_at at time zone 'UTC')::date, n.step, n.reason, n.breached_step, count(*)
                from added n
                group by 2, 3, 4, 5
                order by 2, 3, 4, 5
                on conflict (shard, day, step, reason, breached_step) do update set orders = c.orders + excluded.orders;
                return null;
            end $$;

            create function ended_per_day_updated() returns trigger language plpgsql as $$
            begin
                insert into ended_per_day as c (shard, day, step, reason, breached_step, orders)
                select pg_backend_pid(), d.day, d.step, d.reason, d.breached_step, sum(d.orders)
                from (
                    select (n.occurred_at at time zone 'UTC')::date as day, n.step, n.reason, n.breached_step, 1 as orders from added n
                    union all
                    select (o.occurred_at at time zone 'UTC')::date, o.step, o.reason, o.breached_step, -1 from removed o
                ) d
                group by 2, 3, 4, 5
                having sum(d.orders) <> 0
                order by 2, 3, 4, 5
                on conflict (shard, day, step, reason, breached_step) do update set orders = c.orders + excluded.orders;
                return null;
            end $$;

            create function ended_per_day_removed() returns trigger language plpgsql as $$
            begin
                insert into ended_per_day as c (shard, day, step, reason, breached_step, orders)
                select pg_backend_pid(), (o.occurred_at at time zone 'UTC')::date, o.step, o.reason, o.breached_step, -count(*)
                from removed o
                group by 2, 3, 4, 5
                order by 2, 3, 4, 5
                on conflict (shard, day, step, reason, breached_step) do update set orders = c.orders + excluded.orders;
                return null;
            end $$;

            -- Writers wait on these triggers' locks until the orders already ended are counted below and this commits.
            create trigger order_events_endings after insert on order_events
                referencing new table as added for each statement execute function order_endings_from_events();
            create trigger order_events_endings_truncate after truncate on order_events
                for each statement execute function order_endings_truncated();

            insert into order_endings (order_id, step, occurred_at, event_id, reason, breached_step)
            select distinct on (e.order_id) e.order_id, e.step, e.occurred_at, e.id, order_ending_reason(e.attributes, e.service), order_breached_step(e.order_id)
            from order_events e
            where e.step in ('order-completed', 'order-expired', 'order-cancelled') and e.outcome = 'succeeded'
            order by e.order_id, e.occurred_at, e.id;

            insert into ended_per_day (shard, day, step, reason, breached_step, orders)
            select 0, (occurred_at at time zone 'UTC')::date, step, reason, breached_step, count(*)
            from order_endings
            group by 2, 3, 4, 5;

            create trigger order_endings_per_day_insert after insert on order_endings
                referencing new table as added for each statement execute function ended_per_day_added();
            create trigger order_endings_per_day_update after update on order_endings
                referencing old table as removed new table as added for each statement execute function ended_per_day_updated();
            create trigger order_endings_per_day_delete after delete on order_endings
                referencing old table as removed for each statement execute function ended_per_day_removed();

            -- A day and key whose orders all moved elsewhere (a late, earlier terminal event) folds to zero and goes.
            create function ended_per_day_fold() returns integer language plpgsql as $$
            declare
                folded integer;
            begin
                with gone as (
                    delete from ended_per_day c
                    where c.shard <> 0 and not exists (select 1 from pg_stat_activity a where a.pid = c.shard)
                    returning c.day, c.step, c.reason, c.breached_step, c.orders),
                moved as (
                    insert into ended_per_day as c (shard, day, step, reason, breached_step, orders)
                    select 0, day, step, reason, breached_step, sum(orders) from gone group by 2, 3, 4, 5 order by 2, 3, 4, 5
                    on conflict (shard, day, step, reason, breached_step) do update set orders = c.orders + excluded.orders
                    returning 1)
                select count(*)::integer into folded from gone;
                delete from ended_per_day where shard = 0 and orders = 0;
                return folded;
            end $$;

            -- The terminal-event index served only the report's scan of the history.
            drop index ix_order_events_terminal;
            """);

    protected override void Down(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("""
            create index ix_order_events_terminal on order_events (occurred_at, order_id)
                where step in ('order-completed', 'order-expired', 'order-cancelled') and outcome = 'succeeded';
            drop function ended_per_day_fold();
            drop trigger order_endings_per_day_delete on order_endings;
            drop trigger order_endings_per_day_update on order_endings;
            drop trigger order_endings_per_day_insert on order_endings;
            drop trigger order_events_endings_truncate on order_events;
            drop trigger order_events_endings on order_events;
            drop function ended_per_day_removed();
            drop function ended_per_day_updated();
            drop function ended_per_day_added();
            drop function order_endings_truncated();
            drop function order_endings_recheck(timestamptz);
            drop function order_endings_from_events();
            drop function order_breached_step(text);
            drop function order_ending_reason(jsonb, text);
            drop table ended_per_day;
            drop table order_endings;
            """);
}
