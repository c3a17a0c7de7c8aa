-- Order search benchmark: the orders in flight right now (run before each measurement, after search-data.sql).
-- 5,000 orders first seen over the last 3 minutes (about 28 a second), each in the default workflow's SLAs
-- (steps 5 s / 30 s / 30 s / 60 s / 30 s, end-to-end 3 min, at-risk share 0.8), with the SLA columns as the projection
-- and the SLA watcher leave them: a clock past its deadline is breached and the watch time moves on to the next
-- running clock. Ids ORD-L0000001… (first seen last = highest id).
set synchronous_commit = off;
delete from order_events where order_id like 'ORD-L%';
delete from orders where order_id like 'ORD-L%';

with live as (
    select k, 'ORD-L' || lpad(k::text, 7, '0') as order_id,
           now() - interval '180 seconds' + interval '180 seconds' * k / 5000.0 as seen,
           (k * 7919) % 100 as pace
    from generate_series(1, 5000) k
), stage as (
    -- How far an order has come: by its age and a pace (a slower one still waits where a faster one has moved on).
    select l.*, extract(epoch from now() - l.seen) as age,
           case when extract(epoch from now() - l.seen) * (50 + l.pace) / 100.0 < 15 then 1
                when extract(epoch from now() - l.seen) * (50 + l.pace) / 100.0 < 45 then 2
                else 3 end as n
    from live l
), clocks as (
    select s.*,
           case s.n when 1 then '{payment-authorized,stock-reserved}'::text[] when 2 then '{shipped}' else '{order-completed}' end as positions,
           case s.n when 1 then 'order-placed' when 2 then 'stock-reserved' else 'shipped' end as last_step,
           s.seen + case s.n when 1 then interval '0 s' when 2 then interval '10 s' else interval '40 s' end as ready,
           case s.n when 1 then interval '30 s' when 2 then interval '60 s' else interval '30 s' end as sla
    from stage s
), judged as (
    select c.*, c.ready + c.sla as step_due, c.seen + interval '180 s' as e2e_due,
           least(c.ready + c.sla * 0.8, c.seen + interval '144 s') as at_risk_at
    from clocks c
)
insert into orders (order_id, status, positions, last_step, last_failure, placed_at, last_event_at, first_seen_at, updated_at,
                    event_count, flagged_count, sla_state, sla_scope, sla_at_risk_at, sla_due_at, sla_watch_at,
                    step_names, step_ready_at, step_succeeded_at)
select j.order_id, 'in-progress', j.positions, j.last_step,
       case when j.k % 50 = 0 then 'payment-authorized: card declined (issuer ' || (j.k % 97) || ')' end,
       j.seen, j.ready, j.seen, j.ready, j.n, case when j.k % 50 = 1 then 1 else 0 end,
       case when j.step_due <= now() then 'breached' when j.at_risk_at <= j.ready then 'at-risk' else 'on-track' end,
       case when j.step_due > now() then j.positions[1] else 'end-to-end' end,
       j.at_risk_at,
       case when j.step_due > now() then least(j.step_due, j.e2e_due) when j.e2e_due > now() then j.e2e_due end,
       case when j.step_due > now() then least(j.step_due, j.e2e_due) when j.e2e_due > now() then j.e2e_due end,
       '{}', '{}', '{}'
from judged j;

insert into order_events (event_id, order_id, step, service, outcome, reason, occurred_at, ingested_at, topic, partition, "offset", flags, trace_id, attributes)
select gen_random_uuid(), o.order_id, 'order-placed', 'order-service', 'succeeded', null, o.first_seen_at, o.first_seen_at, 'order-ops', 0, 0, '{}', null, '{}'::jsonb
from orders o where o.order_id like 'ORD-L%';

-- The previous run's live orders leave dead index entries behind.
vacuum (analyze, index_cleanup on) orders;
