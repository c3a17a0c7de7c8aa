-- Each latency probe split at the write: record timestamp → Ingest begins the batch that holds it → the page shows it.
-- From the CSVs of `LATENCY_TRACE=<dir> tools/benchmark.sh latency …` (probe order; Unix ms) and the read model the run
-- wrote to: order_events.ingested_at of the order page's probes ("probe <i>"), quarantined_records.received_at of the
-- dashboard's (key LAT-POISON, the run's last ones). Run right after the benchmark:
--   psql "host=127.0.0.1 port=55432 dbname=orderflow user=postgres" -v order=<dir>/order-page.csv \
--        -v dashboard=<dir>/flow-dashboard.csv -f tools/Benchmarks/latency-split.sql
create temp table o (n serial, stamped bigint, seen bigint);
create temp table q (n serial, stamped bigint, seen bigint);
-- Read by the server (same machine; the local superuser): psql's \copy does not take variables.
copy o (stamped, seen) from :'order' with (format csv);
copy q (stamped, seen) from :'dashboard' with (format csv);

create temp table split as
    select 'order page' as page, o.n, o.stamped, o.seen, (extract(epoch from e.ingested_at) * 1000)::bigint as stored
    from o
    join order_events e
      on e.order_id = (select order_id from order_events where order_id like 'LAT-%' and reason = 'probe 0' order by ingested_at desc limit 1)
     and e.reason = 'probe ' || (o.n - 1)
    union all
    select 'dashboard', q.n, q.stamped, q.seen, (extract(epoch from r.received_at) * 1000)::bigint
    from q
    join (select row_number() over (order by id) as n, received_at
          from (select id, received_at from quarantined_records where key = 'LAT-POISON'::bytea order by id desc limit (select count(*) from q)) last) r
      on r.n = q.n;

select page, count(*) as probes,
       percentile_disc(array[0.5, 0.9, 0.99]) within group (order by stored - stamped) as to_write_p50_p90_p99,
       percentile_disc(array[0.5, 0.9, 0.99]) within group (order by seen - stored) as write_to_screen_p50_p90_p99,
       percentile_disc(array[0.5, 0.9, 0.99]) within group (order by seen - stamped) as total_p50_p90_p99,
       count(*) filter (where seen < stored) as seen_before_stored
from split group by page order by page desc;

select page, n as probe, stored - stamped as to_write_ms, seen - stored as write_to_screen_ms
from (select *, row_number() over (partition by page order by seen - stamped desc) as worst from split) w
where worst <= 3 order by page desc, worst;
