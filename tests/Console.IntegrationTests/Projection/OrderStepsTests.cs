using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Projection;

/// <summary>Per-step durations in order_steps, written by the projection with the order, through the real broker and PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class OrderStepsTests(PostgresServer postgres) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly KafkaBroker _kafka = new();

    [Fact]
    public async Task Each_step_is_stored_with_the_time_from_when_it_could_start_to_its_first_success()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers);
        using var producer = _kafka.CreateProducer();

        // Payment (7 s after placement) finishes after shipping (5 s): completion waits for the later of the two.
        await producer.PublishAsync([
            Events.Step("ORD-T1", "order-placed", 0),
            Events.Step("ORD-T1", "stock-reserved", 2),
            Events.Step("ORD-T1", "payment-authorized", 7),
            Events.Step("ORD-T1", "shipped", 5),
            Events.Step("ORD-T1", "order-completed", 9),
            Events.Step("ORD-T2", "order-placed", 0),
            Events.Step("ORD-T2", "stock-reserved", 4),
        ]);

        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_steps"), n => n == 7, Timeout, "7 step rows");
        var steps = (await readModel.RowsAsync("select step, ready_at, succeeded_at, duration_ms from order_steps where order_id = 'ORD-T1'"))
            .ToDictionary(r => (string)r["step"]!);
        Assert.Equal(0.0, steps["order-placed"]["duration_ms"]);
        Assert.Equal(7000.0, steps["payment-authorized"]["duration_ms"]);
        Assert.Equal(2000.0, steps["stock-reserved"]["duration_ms"]);
        Assert.Equal(3000.0, steps["shipped"]["duration_ms"]);
        Assert.Equal(Events.T0.AddSeconds(2).UtcDateTime, steps["shipped"]["ready_at"]);
        Assert.Equal(Events.T0.AddSeconds(5).UtcDateTime, steps["shipped"]["succeeded_at"]);
        Assert.Equal(Events.T0.AddSeconds(7).UtcDateTime, steps["order-completed"]["ready_at"]);
        Assert.Equal(2000.0, steps["order-completed"]["duration_ms"]);

        // The question operators ask, straight from psql.
        var p95 = (await readModel.RowsAsync(
            "select step, percentile_cont(0.95) within group (order by duration_ms) as p95 from order_steps group by step"))
            .ToDictionary(r => (string)r["step"]!, r => (double)r["p95"]!);
        Assert.Equal(5, p95.Count);
        Assert.Equal(3900.0, p95["stock-reserved"], precision: 6);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_step_that_arrives_before_the_one_it_runs_after_gets_its_duration_when_that_one_arrives(bool restartInBetween)
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        using var producer = _kafka.CreateProducer();
        var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers);
        try
        {
            await producer.PublishAsync([Events.Step("ORD-EARLY", "order-placed", 0), Events.Step("ORD-EARLY", "shipped", 5)]);
            await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_steps where order_id = 'ORD-EARLY'"), n => n == 2, Timeout, "placed and shipped rows");
            var early = Assert.Single(await readModel.RowsAsync("select ready_at, duration_ms from order_steps where step = 'shipped'"));
            Assert.Null(early["ready_at"]);
            Assert.Null(early["duration_ms"]);

            if (restartInBetween)
            {
                // The next batch starts from the state stored in PostgreSQL instead of the one kept in memory.
                await ingest.DisposeAsync();
                ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers);
            }

            await producer.PublishAsync([Events.Step("ORD-EARLY", "stock-reserved", 2)]);

            await Eventually.UntilAsync(
                () => readModel.CountAsync("select count(*) from order_steps where order_id = 'ORD-EARLY' and step = 'shipped' and duration_ms = 3000"),
                n => n == 1, Timeout, "the shipped step's duration once stock-reserved arrived");
            Assert.Equal(3, await readModel.CountAsync("select count(*) from order_steps where order_id = 'ORD-EARLY'"));
            Assert.Equal(2000, await readModel.CountAsync("select duration_ms::bigint from order_steps where order_id = 'ORD-EARLY' and step = 'stock-reserved'"));
        }
        finally
        {
            await ingest.DisposeAsync();
        }
    }

    public void Dispose() => _kafka.Dispose();
}
