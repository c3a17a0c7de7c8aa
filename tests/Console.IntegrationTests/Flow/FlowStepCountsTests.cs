using Confluent.Kafka;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using OrderFlow.Domain.Events;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Sla;
using OrderFlow.Domain.Workflow;
using OrderFlow.Platform.Workflow;
using OrderFlow.Testing;
using OrderFlow.Web.Flow;

namespace OrderFlow.IntegrationTests.Flow;

/// <summary>
/// The dashboard's in-flight orders per step are kept by triggers as orders change (decision 0024), not counted on read.
/// Whoever writes the orders — the real projection (real broker, real PostgreSQL), the SLA watcher, plain SQL — the
/// dashboard's numbers equal what the domain says of each order's folded events, at any moment of reading.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class FlowStepCountsTests(PostgresServer postgres) : IDisposable
{
    private const double Share = 0.8;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly WorkflowDefinition Workflow = WorkflowDefinition.Default;
    private readonly KafkaBroker _kafka = new();

    [Fact]
    public async Task The_dashboard_counts_equal_the_folded_orders_whoever_writes_them()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        using var producer = _kafka.CreateProducer();

        // 1. The projection alone (no SLA watcher): orders at every step, finished ones, a duplicate, a step the workflow lacks.
        await using (await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: new Dictionary<string, string?> { ["Sla:ExpiryPolicy"] = "Off" }))
        {
            var placedTwice = Guid.NewGuid();
            await PublishAndWaitAsync(producer, readModel,
            [
                .. Events.HappyPath("ORD-DONE"),
                Events.Step("ORD-EXPIRED", "order-placed", 0), Events.Step("ORD-EXPIRED", "order-expired", 200),
                Events.Step("ORD-WAITS-BOTH", "order-placed", 0),
                Events.Step("ORD-WAITS-SHIP", "order-placed", 0), Events.Step("ORD-WAITS-SHIP", "payment-authorized", 10), Events.Step("ORD-WAITS-SHIP", "stock-reserved", 20),
                Events.Step("ORD-FAILED", "order-placed", 0), Events.Step("ORD-FAILED", "payment-authorized", 5, succeeded: false, reason: "card declined"),
                Events.Step("ORD-LATE-STOCK", "order-placed", 0), Events.Step("ORD-LATE-STOCK", "payment-authorized", 10), Events.Step("ORD-LATE-STOCK", "stock-reserved", 130),
                Events.Step("ORD-PLACED-LATER", "order-placed", 100),
                Events.Step("ORD-DUPLICATE", "order-placed", 0, eventId: placedTwice), Events.Step("ORD-DUPLICATE", "order-placed", 0, eventId: placedTwice),
                Events.Step("ORD-UNPLANNED", "order-placed", 0), Events.Step("ORD-UNPLANNED", "fraud-checked", 3),
            ]);
            // The same orders moving on in a later batch: the triggers take away what the rows held before.
            await PublishAndWaitAsync(producer, readModel, [Events.Step("ORD-WAITS-BOTH", "stock-reserved", 30), Events.Step("ORD-DONE", "shipped", 400)]);
        }

        await AssertDashboardMatchesAsync(db, readModel);

        // 2. The SLA watcher: the events' deadlines are long past on the real clock, so it breaches every in-flight order.
        await using (await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: new Dictionary<string, string?>
        {
            ["Sla:ExpiryPolicy"] = "AlertOnly",
            ["Sla:CheckInterval"] = "00:00:00.100",
        }))
        {
            await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from orders where status = 'in-progress' and sla_state <> 'breached'"),
                n => n == 0, Timeout, "every in-flight order breached");
            // A breached order moving on (the projection writes it as its events say; the watcher breaches it again), one finishing.
            await PublishAndWaitAsync(producer, readModel, [Events.Step("ORD-WAITS-BOTH", "payment-authorized", 40), Events.Step("ORD-WAITS-SHIP", "shipped", 50)]);
            await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from orders where status = 'in-progress' and sla_state <> 'breached'"),
                n => n == 0, Timeout, "every in-flight order breached again");
        }

        var (steps, _) = await AssertDashboardMatchesAsync(db, readModel);
        Assert.All(steps.Where(s => s.Waiting > 0), s => Assert.Equal(s.Waiting, s.Breached));

        // 3. Plain SQL, as a bulk load or a clean-up would write: an insert, an update, a delete.
        await using var dataSource = NpgsqlDataSource.Create(db);
        await ExecuteAsync(dataSource,
            """
            insert into orders (order_id, status, positions, last_event_at, updated_at, event_count, flagged_count, sla_state, first_seen_at)
            values ('SQL-1', 'in-progress', '{payment-authorized,stock-reserved}', now(), now(), 1, 0, 'on-track', now()),
                   ('SQL-2', 'in-progress', '{shipped}', now(), now(), 3, 0, 'breached', now()),
                   ('SQL-3', 'in-progress', '{shipped}', now(), now(), 3, 0, 'on-track', now());
            update orders set status = 'cancelled', positions = '{}' where order_id = 'SQL-3';
            delete from orders where order_id = 'ORD-LATE-STOCK';
            """);
        (steps, _) = await AssertDashboardMatchesAsync(db, readModel);
        Assert.Equal(1, steps.Single(s => s.Step == "payment-authorized").Waiting - steps.Single(s => s.Step == "payment-authorized").Breached);

        // 4. Emptied: nothing in flight.
        await ExecuteAsync(dataSource, "truncate orders");
        (steps, _) = await AssertDashboardMatchesAsync(db, readModel);
        Assert.All(steps, s => Assert.Equal(0, s.Waiting));
    }

    [Fact]
    public async Task Counts_of_connections_that_ended_are_folded_into_one_row_per_step_and_the_sums_stay()
    {
        var db = await postgres.CreateDatabaseAsync();
        await ReadModel.MigrateAsync(db);

        await using var dataSource = NpgsqlDataSource.Create(db);
        // Three writers on their own connections, each closed afterwards (pooling off: the backend ends).
        foreach (var (id, positions) in new[] { ("A", "{payment-authorized,stock-reserved}"), ("B", "{shipped}"), ("C", "{shipped}") })
        {
            await using var connection = new NpgsqlConnection(db + ";Pooling=false");
            await connection.OpenAsync();
            await using var insert = new NpgsqlCommand(
                $"""
                insert into orders (order_id, status, positions, last_event_at, updated_at, event_count, flagged_count, sla_state, first_seen_at)
                values ('{id}', 'in-progress', '{positions}', now(), now(), 1, 0, 'on-track', now())
                """, connection);
            await insert.ExecuteNonQueryAsync();
        }

        // And one still open, whose rows must stay where they are.
        await using var open = await dataSource.OpenConnectionAsync();
        await using (var insert = new NpgsqlCommand(
            "insert into orders (order_id, status, positions, last_event_at, updated_at, event_count, flagged_count, sla_state, first_seen_at) values ('D', 'in-progress', '{shipped}', now(), now(), 1, 0, 'breached', now())",
            open))
        {
            await insert.ExecuteNonQueryAsync();
        }

        var before = await SumsAsync(dataSource);
        Assert.Equal(5, await ScalarAsync(dataSource, "select count(*) from flow_step_counts where shard <> 0"));
        var fold = new OrderFlow.Ingest.Flow.FlowUpkeep(dataSource, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<OrderFlow.Ingest.Flow.FlowUpkeep>.Instance);

        // A closed connection's backend leaves pg_stat_activity a moment after the client goes.
        var folded = 0;
        await Eventually.UntilAsync(async () => folded += await fold.FoldAsync(CancellationToken.None), n => n == 4, Timeout, "the ended writers' 4 rows folded");

        Assert.Equal(before, await SumsAsync(dataSource));
        var rows = await RowsAsync(dataSource, "select shard, step, waiting, breached from flow_step_counts order by shard, step");
        var openPid = await ScalarAsync(dataSource, "select pg_backend_pid()", open);
        Assert.Equal(
            ["0 payment-authorized 1 0", "0 shipped 2 0", "0 stock-reserved 1 0", $"{openPid} shipped 1 1"],
            rows);
        Assert.Equal(0, await fold.FoldAsync(CancellationToken.None));
    }

    private async Task PublishAndWaitAsync(IProducer<string, byte[]> producer, ReadModel readModel, OperationalEvent[] events)
    {
        var before = await readModel.CountAsync("select count(*) from order_events");
        await producer.PublishAsync(events);
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events"), n => n == before + events.Length, Timeout, $"{events.Length} more events stored");
    }

    /// <summary>
    /// What FlowQueries reads, at explicit moments (a fake clock: before anything is at risk, at each in-flight order's
    /// at-risk moment and a microsecond before it, long after), against the stored events folded by the domain.
    /// </summary>
    private static async Task<(IReadOnlyList<StepLoad> Steps, long InFlight)> AssertDashboardMatchesAsync(string db, ReadModel readModel)
    {
        await using var dataSource = NpgsqlDataSource.Create(db);
        var states = await readModel.StoredStatesAsync();
        var breached = (await readModel.RowsAsync("select order_id from orders where sla_state = 'breached'")).Select(r => (string)r["order_id"]!).ToHashSet();
        var sqlWritten = (await readModel.RowsAsync("select order_id, status, positions from orders where order_id like 'SQL-%'"))
            .ToDictionary(r => (string)r["order_id"]!, r => ((string)r["status"]!, (string[])r["positions"]!));

        (bool InFlight, string[] Positions) Stored(string id) => sqlWritten.TryGetValue(id, out var row)
            ? (row.Item1 == "in-progress", row.Item2)
            : (states[id].Status == OrderStatus.InProgress, [.. states[id].Positions(Workflow)]);
        var ids = states.Keys.Concat(sqlWritten.Keys).Distinct().ToList();
        DateTimeOffset? AtRiskAt(string id) => states.TryGetValue(id, out var s) && !sqlWritten.ContainsKey(id)
            ? SlaEvaluation.Clocks(s, Workflow).Min(c => c.AtRiskAt(Share))
            : null;

        var moments = new List<DateTimeOffset> { Events.T0, DateTimeOffset.UtcNow.AddDays(1) };
        foreach (var at in ids.Where(id => Stored(id).InFlight && !breached.Contains(id)).Select(AtRiskAt).OfType<DateTimeOffset>())
        {
            moments.Add(at);
            moments.Add(at.AddTicks(-10));
        }

        IReadOnlyList<StepLoad> last = [];
        long inFlight = 0;
        foreach (var now in moments)
        {
            var queries = new FlowQueries(dataSource, new WorkflowCatalog(Workflow), Options.Create(new AtRiskOptions { AtRiskShare = Share }), new FakeTimeProvider(now));
            var summary = await queries.SummaryAsync();
            var expected = Workflow.Steps.Select(s => s.Name)
                .Select(step =>
                {
                    var waiting = ids.Where(id => Stored(id).InFlight && Stored(id).Positions.Contains(step)).ToList();
                    return new StepLoad(
                        step,
                        waiting.Count,
                        waiting.Count(id => !breached.Contains(id) && AtRiskAt(id) is { } at && at <= now),
                        waiting.Count(breached.Contains));
                })
                .ToList();
            Assert.Equal(expected, summary.Steps);
            Assert.Equal(expected.Sum(s => s.Waiting), summary.InFlight);
            last = summary.Steps;
            inFlight = summary.InFlight;
        }

        return (last, inFlight);
    }

    private static async Task<List<string>> SumsAsync(NpgsqlDataSource dataSource) =>
        await RowsAsync(dataSource, "select step, sum(waiting), sum(breached) from flow_step_counts group by step order by step");

    private static async Task<List<string>> RowsAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(string.Join(' ', Enumerable.Range(0, reader.FieldCount).Select(i => Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        }

        return rows;
    }

    private static async Task<long> ScalarAsync(NpgsqlDataSource dataSource, string sql, NpgsqlConnection? connection = null)
    {
        await using var command = connection is null ? dataSource.CreateCommand(sql) : new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    public void Dispose() => _kafka.Dispose();
}
