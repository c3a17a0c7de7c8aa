-- Order search benchmark (tools/benchmark.sh search, docs/benchmarks.md): a synthetic read model of 1,000,000 orders
-- and 5,000,000 events over the 30 days before it is generated, consistent with the default workflow (end-to-end SLA
-- 3 minutes), so every in-flight order older than that is breached, as the SLA watcher leaves it. Run once into a
-- migrated database; search-live.sql then adds the orders in flight right now before each measurement.
--   ids ORD-00000001 … in the order they were first seen (real ids grow with time)
--   95.5 % finished: completed (most), expired, cancelled
--   4.5 % (45,000) stuck in flight: breached, every clock run out (sla_due_at/sla_watch_at null), a third waiting for shipped
--   3 % with an open failure (half of them stuck, half expired/cancelled), 2 % flagged
--   5 events per order; 11,000 dead letters, 9,000 on stuck orders, 2,000 on finished ones, spread over the 30 days
-- psql variables (all optional): prefix (order id prefix, default ORD-), dlq (dead-letter topic, default payments-dlq),
-- replace (default true: the three tables are emptied first). The open-pages benchmark adds the same million orders to a
-- live read model beside the simulator's: -v prefix=BIG- -v dlq=bench-dlq -v replace=false (docs/benchmarks.md).
\if :{?prefix} \else \set prefix ORD- \endif
\if :{?dlq} \else \set dlq payments-dlq \endif
\if :{?replace} \else \set replace true \endif
set synchronous_commit = off;
set maintenance_work_mem = '256MB';
begin;

-- Loaded without the secondary indexes, which are built again afterwards exactly as the migrations defined them.
create temp table saved_indexes as
    select indexname, indexdef from pg_indexes
    where schemaname = 'public' and tablename in ('orders', 'order_events', 'dead_letters')
      and indexname not in (select conname from pg_constraint where contype = 'p');
do $$ declare r record; begin
    for r in select indexname from saved_indexes loop execute format('drop index %I', r.indexname); end loop;
end $$;

\if :replace
truncate orders, order_events, dead_letters;
\endif

create temp table gen as
select i,
       :'prefix' || lpad(i::text, 8, '0') as order_id,
       now() - interval '30 days' + (interval '30 days' * i / 1000000.0) - interval '10 minutes' as seen,
       (i::bigint * 7919 % 1000)::int as k
from generate_series(1, 1000000) i;

insert into orders (order_id, status, positions, last_step, last_failure, placed_at, last_event_at, first_seen_at, updated_at,
                    event_count, flagged_count, sla_state, sla_scope, sla_at_risk_at, sla_due_at, sla_watch_at,
                    step_names, step_ready_at, step_succeeded_at)
select g.order_id,
       case when g.k < 45 then 'in-progress' when g.k < 70 then 'expired' when g.k < 90 then 'cancelled' else 'completed' end,
       case when g.k >= 45 then '{}'::text[]
            when g.k % 3 = 0 then '{shipped}'
            when g.k % 3 = 1 then '{payment-authorized,stock-reserved}'
            else '{order-completed}' end,
       case when g.k < 45 then 'order-placed' when g.k < 70 then 'order-expired' when g.k < 90 then 'order-cancelled' else 'order-completed' end,
       case when (g.k < 45 and g.k % 3 = 1) or (g.k >= 45 and g.k < 60)
            then 'payment-authorized: card declined (issuer ' || (g.i % 97) || ')' end,
       g.seen, g.seen + interval '2 minutes', g.seen, g.seen + interval '2 minutes',
       5, case when g.k >= 980 then 1 else 0 end,
       case when g.k < 45 then 'breached' else 'on-track' end,
       null, case when g.k < 45 then g.seen + interval '144 seconds' end, null, null,
       '{}', '{}', '{}'
from gen g;

insert into order_events (event_id, order_id, step, service, outcome, reason, occurred_at, ingested_at, topic, partition, "offset", flags, trace_id, attributes)
select gen_random_uuid(), g.order_id, s.step, s.service,
       case when s.n = 2 and g.k < 60 and g.k % 3 <> 0 then 'failed' else 'succeeded' end,
       null, g.seen + s.n * interval '20 seconds', g.seen + s.n * interval '20 seconds', 'order-ops', g.i % 6, (g.i * 5 + s.n) / 6,
       case when s.n = 4 and g.k >= 980 then '{duplicate}'::text[] else '{}' end, null, '{}'::jsonb
from gen g
cross join lateral (values (0, 'order-placed', 'order-service'), (1, 'stock-reserved', 'inventory-service'),
                           (2, 'payment-authorized', 'payment-service'), (3, 'shipped', 'shipping-service'),
                           (4, 'order-completed', 'order-service')) s(n, step, service);

-- Dead letters: 9,000 on stuck orders (every fifth), 2,000 on finished ones, spread over the 30 days.
insert into dead_letters (dlq_topic, dlq_partition, dlq_offset, kafka_timestamp, key, value, headers, source_topic, source_partition,
                          source_offset, error_reason, failed_service, order_id, first_seen_at)
select :'dlq', d.i % 3, d.i, d.seen + interval '1 minute', convert_to(d.order_id, 'UTF8'), '{}'::bytea, '{}'::jsonb,
       'order-ops', d.i % 6, d.i, 'timeout after ' || (d.i % 5000) || ' ms', 'payment-service', d.order_id, d.seen + interval '1 minute'
from (
    (select i, order_id, seen from gen where k < 45 and i % 5 = 0)
    union all
    (select i, order_id, seen from gen where k between 100 and 119 and i % 10 = 0)
) d;

do $$ declare r record; begin
    for r in select indexdef from saved_indexes loop execute r.indexdef; end loop;
end $$;
commit;
vacuum analyze orders;
vacuum analyze order_events;
vacuum analyze dead_letters;
