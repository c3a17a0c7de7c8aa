using System.Diagnostics;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using OrderFlow.Domain.Events;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Sla;
using OrderFlow.Domain.Workflow;
using OrderFlow.Ingest.Projection;
using OrderFlow.Ingest.Sla;
using OrderFlow.Platform.Kafka;
using OrderFlow.Platform.ReadModel;
using OrderFlow.Testing;

namespace OrderFlow.Benchmarks;

/// <summary>
/// Breach-detection delay with 1,000,000 in-flight orders (docs/benchmarks.md, "Results — breach detection"):
/// a throwaway PostgreSQL with the migrated read model, in-flight orders written as the projection writes them
/// (folded state, positions, SLA columns), of which a known number come due during the measurement window; the
/// real SlaWatcher checks on the real clock every CheckInterval; delay = sla_breaches.detected_at − due_at.
/// </summary>
public static class BreachDelay
{
    private const double AtRiskShare = 0.8;

    private static readonly Dictionary<string, TimeSpan> DaysLongSlas = new()
    {
        ["order-placed"] = TimeSpan.FromMinutes(5),
        ["payment-authorized"] = TimeSpan.FromMinutes(30),
        ["stock-reserved"] = TimeSpan.FromHours(1),
        ["shipped"] = TimeSpan.FromHours(24),
        ["order-completed"] = TimeSpan.FromHours(2),
    };

    /// <summary>A shop whose orders take days, so a million of them are in flight at once (about 6 orders a second over 48 h).</summary>
    private static readonly WorkflowDefinition Workflow = new(
        WorkflowDefinition.Default.Steps.Select(s => s with { Sla = DaysLongSlas[s.Name] }).ToList(),
        TimeSpan.FromHours(48),
        WorkflowDefinition.Default.TerminalSteps);

    /// <summary>How far in-flight orders have come: (steps succeeded, share of orders).</summary>
    private static readonly (string[] Steps, double Share)[] Stages =
    [
        (["order-placed"], 0.05),
        (["order-placed", "payment-authorized"], 0.03),
        (["order-placed", "stock-reserved"], 0.02),
        (["order-placed", "payment-authorized", "stock-reserved"], 0.70),
        (["order-placed", "payment-authorized", "stock-reserved", "shipped"], 0.20),
    ];

    public static async Task RunAsync(string[] args)
    {
        var orders = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var duePerSecond = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 300;
        var window = TimeSpan.FromSeconds(args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 45);
        var inWindow = (int)(duePerSecond * window.TotalSeconds);
        var options = new SlaOptions { ExpiryPolicy = ExpiryPolicy.AlertOnly };
        Console.WriteLine($"Breach detection: {orders:N0} in-flight orders, {inWindow:N0} of them due during a {window.TotalSeconds:0} s window ({duePerSecond}/s), " +
            $"SlaWatcher every {options.CheckInterval.TotalMilliseconds:0} ms (policy {options.ExpiryPolicy}), {Environment.ProcessorCount} cores");

        var postgres = new PostgresServer();
        await postgres.InitializeAsync();
        try
        {
            var db = await MigratedDatabaseAsync(postgres);
            await using var dataSource = NpgsqlDataSource.Create(db);
            var random = new Random(42);

            // The orders not due in the window: their next deadlines lie between 15 minutes and a day or two ahead.
            var sw = Stopwatch.StartNew();
            var now = DateTimeOffset.UtcNow;
            await CopyOrdersAsync(dataSource, orders - inWindow, i => Generate(random, $"ORD-{i:D7}", now, now.AddMinutes(15), null), now);
            Console.WriteLine($"  loaded {orders - inWindow:N0} orders due later in {sw.Elapsed.TotalSeconds:F0} s");
            await using (var vacuum = dataSource.CreateCommand("vacuum analyze orders, order_events"))
            {
                await vacuum.ExecuteNonQueryAsync();
            }

            // The orders due in the window, evenly spread over it, starting a few seconds from now.
            now = DateTimeOffset.UtcNow;
            var windowStart = now.AddSeconds(10);
            var expected = 0;
            await CopyOrdersAsync(dataSource, inWindow, i =>
            {
                var row = Generate(random, $"ORD-W{i:D6}", now, null, windowStart + (window * i / inWindow));
                expected += row.DueInWindow(windowStart, windowStart + window);
                return row;
            }, now);
            Console.WriteLine($"  loaded {inWindow:N0} orders due in the window ({expected:N0} clocks due); table: {await ScalarAsync(dataSource, "select pg_size_pretty(pg_total_relation_size('orders'))")}, " +
                $"ix_orders_sla_watch {await ScalarAsync(dataSource, "select pg_size_pretty(pg_relation_size('ix_orders_sla_watch'))")}");

            var kafkaOptions = Options.Create(new KafkaOptions { BootstrapServers = "unused:9092" });
            // No broker and no projection here: the orders are loaded directly, so the projection is stated caught up.
            var backlog = new ProjectionBacklog(dataSource, kafkaOptions, Options.Create(options), TimeProvider.System, NullLogger<ProjectionBacklog>.Instance);
            backlog.Report(0);
            var watcher = new SlaWatcher(dataSource, new OrderFlow.Platform.Workflow.WorkflowCatalog(Workflow), backlog, Options.Create(options), kafkaOptions, TimeProvider.System, NullLogger<SlaWatcher>.Instance);
            var ticks = await WatchAsync(watcher, options.CheckInterval, windowStart + window + TimeSpan.FromSeconds(3));
            await ReportAsync(dataSource, windowStart, window, expected, ticks);
            await ExplainAsync(dataSource, "now", DateTimeOffset.UtcNow);
            await ExplainAsync(dataSource, "now + 1 h", DateTimeOffset.UtcNow.AddHours(1));
        }
        finally
        {
            await postgres.DisposeAsync();
        }
    }

    /// <summary>The watcher's own loop (SlaWatcher.ExecuteAsync) on the real clock, timing each check.</summary>
    private static async Task<List<(TimeSpan Duration, SlaTick Tick)>> WatchAsync(SlaWatcher watcher, TimeSpan interval, DateTimeOffset until)
    {
        var ticks = new List<(TimeSpan, SlaTick)>();
        using var timer = new PeriodicTimer(interval, TimeProvider.System);
        while (DateTimeOffset.UtcNow < until && await timer.WaitForNextTickAsync())
        {
            var sw = Stopwatch.StartNew();
            var tick = await watcher.CheckAsync(CancellationToken.None);
            ticks.Add((sw.Elapsed, tick));
        }

        return ticks;
    }

    private static async Task ReportAsync(NpgsqlDataSource dataSource, DateTimeOffset windowStart, TimeSpan window, int expected, List<(TimeSpan Duration, SlaTick Tick)> ticks)
    {
        await using var command = dataSource.CreateCommand(
            """
            select count(*),
                   percentile_cont(0.5) within group (order by extract(epoch from detected_at - due_at)),
                   percentile_cont(0.99) within group (order by extract(epoch from detected_at - due_at)),
                   max(extract(epoch from detected_at - due_at)),
                   min(extract(epoch from detected_at - due_at)),
                   count(distinct order_id)
            from sla_breaches where due_at >= @from and due_at < @to
            """);
        command.Parameters.AddWithValue("from", windowStart);
        command.Parameters.AddWithValue("to", windowStart + window);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        var count = reader.GetInt64(0);
        Console.WriteLine($"  breaches recorded with due time in the window: {count:N0} of {expected:N0} expected ({reader.GetInt64(5):N0} orders)");
        Console.WriteLine($"  detection delay (detected_at - due_at): p50 {reader.GetDouble(1) * 1000:F0} ms, p99 {reader.GetDouble(2) * 1000:F0} ms, " +
            $"max {Convert.ToDouble(reader.GetValue(3), CultureInfo.InvariantCulture) * 1000:F0} ms, min {Convert.ToDouble(reader.GetValue(4), CultureInfo.InvariantCulture) * 1000:F0} ms");

        var durations = ticks.Select(t => t.Duration.TotalMilliseconds).Order().ToList();
        var busy = ticks.Where(t => t.Tick.Breached > 0).Select(t => t.Duration.TotalMilliseconds).Order().ToList();
        Console.WriteLine($"  SLA check per tick ({ticks.Count} ticks): p50 {Percentile(durations, 0.5):F1} ms, p99 {Percentile(durations, 0.99):F1} ms, max {durations[^1]:F1} ms; " +
            $"ticks that recorded breaches ({busy.Count}): p50 {Percentile(busy, 0.5):F1} ms, max {(busy.Count > 0 ? busy[^1] : 0):F1} ms, " +
            $"at most {ticks.Max(t => t.Tick.Breached)} breaches in one tick");
    }

    /// <summary>The watcher's index-driven statements on the loaded table at a given moment (later = more work), rolled back.</summary>
    private static async Task ExplainAsync(NpgsqlDataSource dataSource, string when, DateTimeOffset at)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        foreach (var (name, sql) in new[] { ("due", SlaWatcher.DueSql) })
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await using var command = new NpgsqlCommand("explain (analyze, costs off, timing off, summary off) " + sql, connection, transaction);
            command.Parameters.AddWithValue("now", at);
            if (sql.Contains("@limit", StringComparison.Ordinal))
            {
                command.Parameters.AddWithValue("limit", SlaWatcher.DueChunk);
            }

            Console.WriteLine($"  EXPLAIN ANALYZE {name} query ({when}):");
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    Console.WriteLine("    " + reader.GetString(0));
                }
            }

            await transaction.RollbackAsync();
        }
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static async Task<string> ScalarAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return Convert.ToString(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture) ?? "";
    }

    /// <summary>
    /// One in-flight order at a random stage, its events shifted so that its earliest deadline falls at <paramref name="dueAt"/>
    /// (or at a random time after <paramref name="dueAfter"/>), none of them in the future.
    /// </summary>
    private static OrderRow Generate(Random random, string orderId, DateTimeOffset now, DateTimeOffset? dueAfter, DateTimeOffset? dueAt)
    {
        var pick = random.NextDouble();
        var stage = Stages.First(s => (pick -= s.Share) <= 0 || s == Stages[^1]).Steps;
        while (true)
        {
            // Relative times: placed at 0, each later step some minutes after the steps it follows.
            var at = new Dictionary<string, TimeSpan>();
            foreach (var step in stage)
            {
                var after = Workflow.Find(step)!.After;
                var start = after.Count == 0 ? TimeSpan.Zero : after.Max(d => at[d]);
                at[step] = start + (after.Count == 0 ? TimeSpan.Zero : TimeSpan.FromMinutes(random.NextDouble() * 20));
            }

            var events = stage.Select(s => new OperationalEvent(Guid.NewGuid(), orderId, s, s.Split('-')[0] + "-service", StepOutcome.Succeeded, null,
                DateTimeOffset.UnixEpoch + at[s], OperationalEvent.CurrentSchemaVersion, """{"channel":"web"}""")).ToList();
            var relative = OrderState.Fold(Workflow, events);
            var firstDue = SlaEvaluation.NextDue(relative, Workflow)!.DueAt - DateTimeOffset.UnixEpoch;
            var lastEvent = relative.LastEventAt - DateTimeOffset.UnixEpoch;

            // The latest the earliest deadline can be with every event in the past: now + (first due - last event).
            var latest = now + (firstDue - lastEvent);
            var due = dueAt ?? dueAfter!.Value + ((latest - dueAfter.Value) * random.NextDouble());
            if (due > latest)
            {
                continue;
            }

            var shift = due - (DateTimeOffset.UnixEpoch + firstDue);
            var shifted = events.Select(e => e with { OccurredAt = (e.OccurredAt + shift).ToUniversalTime() }).ToList();
            var state = OrderState.Fold(Workflow, shifted);
            return new OrderRow(state, SlaEvaluation.Clocks(state, Workflow), shifted);
        }
    }

    /// <summary>COPY of orders rows exactly as ProjectionWriter writes them (SLA columns included, no step times while in flight), and of their events (the watcher folds them).</summary>
    private static async Task CopyOrdersAsync(NpgsqlDataSource dataSource, int count, Func<int, OrderRow> next, DateTimeOffset now)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var eventsConnection = await dataSource.OpenConnectionAsync();
        await using var copy = await connection.BeginBinaryImportAsync(
            "copy orders (order_id, status, positions, last_step, last_failure, placed_at, last_event_at, first_seen_at, updated_at, event_count, flagged_count, sla_state, sla_scope, sla_at_risk_at, sla_due_at, step_names, step_ready_at, step_succeeded_at, sla_watch_at) from stdin (format binary)");
        await using var events = await eventsConnection.BeginBinaryImportAsync(
            "copy order_events (event_id, order_id, step, service, outcome, occurred_at, ingested_at, topic, partition, \"offset\", flags, attributes) from stdin (format binary)");
        long offset = 0;
        for (var i = 0; i < count; i++)
        {
            var (s, clocks, stored) = next(i);
            var first = clocks.MinBy(c => c.DueAt)!;
            var atRisk = clocks.Min(c => c.AtRiskAt(AtRiskShare));
            copy.StartRow();
            copy.Write(s.OrderId, NpgsqlDbType.Text);
            copy.Write(OrderStatusNames.InProgress, NpgsqlDbType.Text);
            copy.Write(s.Positions(Workflow).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text);
            copy.Write(s.LastStep!, NpgsqlDbType.Text);
            copy.WriteNull();
            copy.Write(s.PlacedAt!.Value, NpgsqlDbType.TimestampTz);
            copy.Write(s.LastEventAt, NpgsqlDbType.TimestampTz);
            copy.Write(s.FirstEventAt, NpgsqlDbType.TimestampTz);
            copy.Write(s.LastEventAt, NpgsqlDbType.TimestampTz);
            copy.Write(s.EventCount, NpgsqlDbType.Integer);
            copy.Write(0, NpgsqlDbType.Integer);
            copy.Write((atRisk <= now ? SlaState.AtRisk : SlaState.OnTrack).ToName(), NpgsqlDbType.Text);
            copy.Write(first.Scope, NpgsqlDbType.Text);
            copy.Write(atRisk, NpgsqlDbType.TimestampTz);
            copy.Write(first.DueAt, NpgsqlDbType.TimestampTz);
            // In flight: no step times on the row (order_steps reads them from the events, decision 0014).
            copy.Write(Array.Empty<string>(), NpgsqlDbType.Array | NpgsqlDbType.Text);
            copy.Write(Array.Empty<DateTimeOffset?>(), NpgsqlDbType.Array | NpgsqlDbType.TimestampTz);
            copy.Write(Array.Empty<DateTimeOffset>(), NpgsqlDbType.Array | NpgsqlDbType.TimestampTz);
            copy.Write(first.DueAt, NpgsqlDbType.TimestampTz);
            foreach (var e in stored)
            {
                events.StartRow();
                events.Write(e.EventId, NpgsqlDbType.Uuid);
                events.Write(e.OrderId, NpgsqlDbType.Text);
                events.Write(e.Step, NpgsqlDbType.Text);
                events.Write(e.Service, NpgsqlDbType.Text);
                events.Write(StepOutcomeNames.Succeeded, NpgsqlDbType.Text);
                events.Write(e.OccurredAt, NpgsqlDbType.TimestampTz);
                events.Write(s.FirstEventAt, NpgsqlDbType.TimestampTz);
                events.Write("order-ops", NpgsqlDbType.Text);
                events.Write(0, NpgsqlDbType.Integer);
                events.Write(offset++, NpgsqlDbType.Bigint);
                events.Write(Array.Empty<string>(), NpgsqlDbType.Array | NpgsqlDbType.Text);
                events.Write(e.AttributesJson, NpgsqlDbType.Jsonb);
            }
        }

        await copy.CompleteAsync();
        await events.CompleteAsync();
    }

    private static Task<string> MigratedDatabaseAsync(PostgresServer postgres) => BenchDatabase.MigratedAsync(postgres, "breach");

    private sealed record OrderRow(OrderState State, IReadOnlyList<SlaClock> Clocks, IReadOnlyList<OperationalEvent> Events)
    {
        public int DueInWindow(DateTimeOffset from, DateTimeOffset to) => Clocks.Count(c => c.DueAt >= from && c.DueAt < to);
    }
}
