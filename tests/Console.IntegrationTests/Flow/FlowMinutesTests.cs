using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using OrderFlow.Domain.Events;
using OrderFlow.Domain.Workflow;
using OrderFlow.Ingest.Flow;
using OrderFlow.Platform.Workflow;
using OrderFlow.Testing;
using OrderFlow.Web.Flow;

namespace OrderFlow.IntegrationTests.Flow;

/// <summary>
/// The dashboard's last hour comes from the minutes the projection keeps as it writes (decision 0026), not from the hour's
/// events. Real projection (real broker, real PostgreSQL): what the dashboard reads equals what the stored events and the
/// order_steps view say when read directly (the reading it replaced), durations within the buckets' 9 %.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class FlowMinutesTests(PostgresServer postgres) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly KafkaBroker _kafka = new();
    private int _published;

    [Fact]
    public async Task The_hour_read_from_the_kept_minutes_equals_the_hour_read_from_the_events()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        var start = DateTimeOffset.UtcNow.AddMinutes(-10);
        var random = new Random(5);

        await using (await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: new Dictionary<string, string?> { ["Sla:ExpiryPolicy"] = "Off" }))
        {
            // 60 orders through the whole flow, their steps apart by 50 ms to 40 s, in three rounds (several batches, both writers).
            for (var round = 0; round < 3; round++)
            {
                var events = new List<OperationalEvent>();
                for (var i = 0; i < 20; i++)
                {
                    var id = $"MIN-{round}-{i}";
                    var at = start;
                    DateTimeOffset Next() => at = at.AddMilliseconds(50 + (random.NextDouble() * random.NextDouble() * 40_000));
                    var placed = Events.StepAt(id, "order-placed", at);
                    var payment = Events.StepAt(id, "payment-authorized", Next());
                    var stock = Events.StepAt(id, "stock-reserved", Next());
                    var shipped = Events.StepAt(id, "shipped", Next());
                    var completed = Events.StepAt(id, "order-completed", Next());
                    // Every fifth order: shipped arrives before the stock it waits for (counted when stock arrives).
                    events.AddRange(i % 5 == 0 ? [placed, payment, shipped, stock, completed] : [placed, payment, stock, shipped, completed]);
                }

                await PublishAsync(readModel, events);
            }

            // Duplicates, an expiry and its duplicate, an event after the end, a failure, an unplanned step.
            var expiry = Events.StepAt("MIN-EXPIRED", "order-expired", start.AddSeconds(30));
            var placedAgain = Events.StepAt("MIN-EXPIRED", "order-placed", start);
            await PublishAsync(readModel,
            [
                placedAgain, placedAgain, expiry, expiry,
                Events.StepAt("MIN-EXPIRED", "payment-authorized", start.AddSeconds(40)),
                Events.StepAt("MIN-0-1", "order-placed", start) with { Outcome = StepOutcome.Failed, Reason = "again" },
                Events.StepAt("MIN-0-2", "fraud-checked", start.AddSeconds(1)),
            ]);
        }

        Assert.Equal(_published, await readModel.CountAsync("select sum(events) from flow_minutes"));
        await using var dataSource = NpgsqlDataSource.Create(db);
        var now = DateTimeOffset.UtcNow;
        var queries = new FlowQueries(dataSource, new WorkflowCatalog(WorkflowDefinition.Default), Options.Create(new AtRiskOptions()), new FakeTimeProvider(now));
        var summary = await queries.SummaryAsync();
        Assert.False(summary.HourPending);

        // Per step: successes applied (not duplicates, not after the order's end), in the hour and in the last 5 minutes.
        var applied = (await readModel.RowsAsync(
                """
                select step, count(*) as n from order_events
                where ingested_at > @since and outcome = 'succeeded' and not (flags && array['duplicate', 'after-terminal']::text[])
                group by step
                """, ("since", now.AddHours(-1))))
            .ToDictionary(r => (string)r["step"]!, r => (long)r["n"]!);
        Assert.Equal(60, applied["shipped"]);
        Assert.Equal(1, applied["order-expired"]);
        Assert.Equal(1, applied["fraud-checked"]);
        foreach (var pace in summary.Pace)
        {
            Assert.Equal(applied.GetValueOrDefault(pace.Step), pace.Events);
            Assert.Equal(applied.GetValueOrDefault(pace.Step) / 5.0, pace.EventsPerMinute, 6);
        }

        Assert.Equal(applied.Keys.Order(), summary.Pace.Where(p => p.Events > 0).Select(p => p.Step).Order());

        // Per minute: every stored event, and the expiries (not their duplicates).
        var minutes = (await readModel.RowsAsync(
                """
                select date_trunc('minute', ingested_at) as m, count(*) as events,
                       count(*) filter (where step = 'order-expired' and outcome = 'succeeded' and not ('duplicate' = any(flags))) as expiries
                from order_events group by 1 order by 1
                """))
            .Select(r => $"{(DateTime)r["m"]!:HH:mm} {r["events"]} {r["expiries"]}");
        Assert.Equal(minutes, summary.Minutes.Select(m => $"{m.Minute.UtcDateTime:HH:mm} {m.Events} {m.Expiries}"));
        Assert.Equal(1, summary.Minutes.Sum(m => m.Expiries));

        // Step durations: the exact percentiles over the order_steps view, against those read from the bucket counts.
        var exact = await readModel.RowsAsync(
            """
            select step, count(*) as n,
                   percentile_disc(0.5) within group (order by duration_ms) as p50,
                   percentile_disc(0.95) within group (order by duration_ms) as p95
            from order_steps where duration_ms >= 0 group by step
            """);
        Assert.Equal(5, exact.Count);
        var counted = (await readModel.RowsAsync("select step, sum(c) as n from flow_minutes, unnest(durations) c group by step"))
            .ToDictionary(r => (string)r["step"]!, r => (long)r["n"]!);
        foreach (var row in exact)
        {
            var pace = summary.Pace.Single(p => p.Step == (string)row["step"]!);
            // The expired order's placement too.
            Assert.Equal(pace.Step == "order-placed" ? 61L : 60L, row["n"]);
            Assert.Equal(row["n"], counted[pace.Step]);
            AssertNear((double)row["p50"]!, pace.P50Ms, pace.Step);
            AssertNear((double)row["p95"]!, pace.P95Ms, pace.Step);
        }

        Assert.All(summary.Pace.Where(p => p.Step is "order-expired" or "order-cancelled" or "fraud-checked"), p => Assert.Null(p.P50Ms));
    }

    [Fact]
    public async Task Minutes_older_than_a_day_are_deleted_and_the_rest_stay()
    {
        var db = await postgres.CreateDatabaseAsync();
        await ReadModel.MigrateAsync(db);
        await using var dataSource = NpgsqlDataSource.Create(db);
        var now = new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
        await using (var insert = dataSource.CreateCommand(
            """
            insert into flow_minutes (minute, step, shard, events, applied, expiries)
            select $1 - m * interval '1 minute', 'shipped', 0, 1, 1, 0 from generate_series(0, 1500) m
            """))
        {
            insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            await insert.ExecuteNonQueryAsync();
        }

        var upkeep = new FlowUpkeep(dataSource, new FakeTimeProvider(now), Microsoft.Extensions.Logging.Abstractions.NullLogger<FlowUpkeep>.Instance);

        // 1,501 minutes back from now; those more than 1,440 minutes old (60) go.
        Assert.Equal(60, await upkeep.PruneAsync(CancellationToken.None));
        Assert.Equal(0, await upkeep.PruneAsync(CancellationToken.None));
        await using var left = dataSource.CreateCommand("select count(*), min(minute) from flow_minutes");
        await using var reader = await left.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal(1441, reader.GetInt64(0));
        Assert.Equal(now.AddDays(-1), reader.GetFieldValue<DateTimeOffset>(1));
    }

    public void Dispose() => _kafka.Dispose();

    private static void AssertNear(double exact, double? estimate, string step)
    {
        Assert.NotNull(estimate);
        Assert.True(Math.Abs(estimate.Value - exact) <= exact * 0.09 + 1, $"{step}: {estimate:F1} ms read from the buckets, {exact:F1} ms exact");
    }

    private async Task PublishAsync(ReadModel readModel, IReadOnlyList<OperationalEvent> events)
    {
        using var producer = _kafka.CreateProducer();
        await producer.PublishAsync(events);
        _published += events.Count;
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events"), n => n == _published, Timeout, $"{_published} events stored");
    }
}
