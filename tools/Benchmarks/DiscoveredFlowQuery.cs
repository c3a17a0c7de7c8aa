using System.Diagnostics;
using System.Globalization;
using Npgsql;
using OrderFlow.Domain.Workflow;
using OrderFlow.Testing;
using OrderFlow.Web.Workflow;

namespace OrderFlow.Benchmarks;

/// <summary>
/// The discovered flow's query (/workflow, <see cref="WorkflowQueries.DiscoveredFlowAsync"/>) over 1 and 10 million events
/// (docs/benchmarks.md): orders spread evenly over the last 7 days, 5 events each, some orders on other paths (stock
/// before payment, an unplanned fraud-checked step, shipped before stock). Times each range the page offers, the
/// query and the arithmetic together as the page runs them, median of 7 after one warm-up; EXPLAIN of the day range.
/// </summary>
public static class DiscoveredFlowQuery
{
    private static readonly (string Label, TimeSpan Range)[] Ranges =
        [("15 minutes", TimeSpan.FromMinutes(15)), ("hour", TimeSpan.FromHours(1)), ("day", TimeSpan.FromDays(1)), ("7 days", TimeSpan.FromDays(7))];

    public static async Task RunAsync(string[] args)
    {
        var sizes = args.Length > 0 ? args.Select(a => long.Parse(a, CultureInfo.InvariantCulture)).ToArray() : [1_000_000L, 10_000_000L];
        Console.WriteLine($"Discovered flow: the /workflow query (latest {Limit:N0} orders of the range), {Environment.ProcessorCount} cores");
        var postgres = new PostgresServer();
        await postgres.InitializeAsync();
        try
        {
            foreach (var events in sizes)
            {
                var db = await BenchDatabase.MigratedAsync(postgres, $"discovered{events}");
                await using var dataSource = NpgsqlDataSource.Create(db);
                var now = DateTimeOffset.UtcNow;
                var sw = Stopwatch.StartNew();
                await LoadAsync(dataSource, events / 5, now);
                Console.WriteLine($"  {events:N0} events ({events / 5:N0} orders over 7 days) loaded in {sw.Elapsed.TotalSeconds:F0} s; order_events {await ScalarAsync(dataSource, "select pg_size_pretty(pg_total_relation_size('order_events'))")}");

                var queries = new WorkflowQueries(dataSource);
                foreach (var (label, range) in Ranges)
                {
                    var times = new List<double>();
                    DiscoveredFlowSummary? flow = null;
                    for (var run = 0; run < 8; run++)
                    {
                        var t = Stopwatch.StartNew();
                        flow = await queries.DiscoveredFlowAsync(WorkflowDefinition.Default, now - range, now, Limit);
                        if (run > 0)
                        {
                            times.Add(t.Elapsed.TotalMilliseconds);
                        }
                    }

                    times.Sort();
                    Console.WriteLine($"    {label,-10} {flow!.Orders,6:N0} orders, {flow.Transitions.Count,2} transitions, {flow.Variants.Count,2} variants: median {times[times.Count / 2],7:F1} ms (min {times[0]:F1}, max {times[^1]:F1})");
                }

                await ExplainAsync(dataSource, now - TimeSpan.FromDays(1), now);
            }
        }
        finally
        {
            await postgres.DisposeAsync();
        }
    }

    private const int Limit = 5000;

    private static async Task LoadAsync(NpgsqlDataSource dataSource, long orders, DateTimeOffset now)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (var command = new NpgsqlCommand(
            """
            insert into orders (order_id, status, last_event_at, first_seen_at, updated_at, event_count, flagged_count, sla_state)
            select 'ORD-' || lpad(i::text, 9, '0'), 'completed', t + interval '4 seconds', t, t + interval '4 seconds', 5, 0, 'on-track'
            from generate_series(1, @orders) as i, lateral (select @now - (interval '7 days' * i / @orders) as t) f
            """, connection) { CommandTimeout = 0 })
        {
            command.Parameters.AddWithValue("orders", orders);
            command.Parameters.AddWithValue("now", now);
            await command.ExecuteNonQueryAsync();
        }

        // Variant by order number: 1 in 10 reserves stock before payment, 1 in 50 takes fraud-checked instead of
        // completing, 1 in 100 ships before stock is reserved.
        await using (var command = new NpgsqlCommand(
            """
            insert into order_events (event_id, order_id, step, service, outcome, occurred_at, ingested_at, topic, partition, "offset", attributes)
            select gen_random_uuid(), o.order_id, s.step, 'bench', 'succeeded', o.first_seen_at + s.at * interval '1 second', o.first_seen_at + s.at * interval '1 second', 'order-ops', 0, 0, '{}'
            from orders o, lateral (select substr(o.order_id, 5)::bigint as n) k,
            lateral (values
                ('order-placed', 0),
                ('payment-authorized', case when k.n % 10 = 0 then 2 else 1 end),
                ('stock-reserved', case when k.n % 10 = 0 then 1 when k.n % 100 = 1 then 3.5 else 2 end),
                ('shipped', 3),
                (case when k.n % 50 = 7 then 'fraud-checked' else 'order-completed' end, 4)) as s(step, at)
            """, connection) { CommandTimeout = 0 })
        {
            await command.ExecuteNonQueryAsync();
        }

        await using var vacuum = new NpgsqlCommand("vacuum analyze orders, order_events", connection) { CommandTimeout = 0 };
        await vacuum.ExecuteNonQueryAsync();
    }

    private static async Task ExplainAsync(NpgsqlDataSource dataSource, DateTimeOffset from, DateTimeOffset to)
    {
        await using var command = dataSource.CreateCommand("explain (analyze, buffers, costs off, timing off, summary off) " + WorkflowQueries.DiscoveredFlowSql);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = from });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = to });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Limit });
        Console.WriteLine("    EXPLAIN ANALYZE (day):");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            Console.WriteLine("      " + reader.GetString(0));
        }
    }

    private static async Task<string> ScalarAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return (await command.ExecuteScalarAsync())?.ToString() ?? "";
    }
}
