using OrderFlow.Domain.Events;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Workflow;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Projection;

/// <summary>
/// Per-step durations in order_steps, through the real broker and PostgreSQL: read from the events for an order in
/// flight, from the order's row once it has finished (decision 0014).
/// </summary>
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

    [Fact]
    public async Task An_order_in_flight_has_the_step_times_of_its_fold_read_from_its_events_and_a_finished_one_from_its_row()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers);
        using var producer = _kafka.CreateProducer();

        // A duplicate (same event id, earlier time) is not applied, a repeated success is (the earlier one counts),
        // a failure is no success.
        var stock = Events.Step("ORD-FOLD", "stock-reserved", 4);
        List<OperationalEvent> inFlight =
        [
            Events.Step("ORD-FOLD", "order-placed", 0),
            stock,
            Events.Step("ORD-FOLD", "stock-reserved", 1, eventId: stock.EventId),
            Events.Step("ORD-FOLD", "stock-reserved", 3),
            Events.Step("ORD-FOLD", "payment-authorized", 2, succeeded: false, reason: "card declined"),
            Events.Step("ORD-FOLD", "shipped", 6),
        ];
        await producer.PublishAsync(inFlight);
        await Eventually.UntilAsync(() => readModel.CountAsync("select event_count from orders where order_id = 'ORD-FOLD'"), n => n == 5, Timeout, "the order's events folded");

        Assert.Equal(0, await readModel.CountAsync("select cardinality(step_names) from orders where order_id = 'ORD-FOLD'"));
        Assert.Equal(Expected(inFlight), await StepsAsync(readModel));
        Assert.Equal(3000.0, (await readModel.RowsAsync("select duration_ms from order_steps where order_id = 'ORD-FOLD' and step = 'stock-reserved'"))[0]["duration_ms"]);

        // Finished, then a late shipping event after the end (after-terminal: stored, not applied).
        List<OperationalEvent> finishing =
        [
            Events.Step("ORD-FOLD", "payment-authorized", 7),
            Events.Step("ORD-FOLD", "order-completed", 8),
            Events.Step("ORD-FOLD", "shipped", 20),
        ];
        await producer.PublishAsync(finishing);
        await Eventually.UntilAsync(() => readModel.CountAsync("select event_count from orders where order_id = 'ORD-FOLD' and status = 'completed'"), n => n == 8, Timeout, "the order completed");

        Assert.Equal(5, await readModel.CountAsync("select cardinality(step_names) from orders where order_id = 'ORD-FOLD'"));
        Assert.Equal(Expected([.. inFlight, .. finishing]), await StepsAsync(readModel));

        static List<(string, DateTime?, DateTime)> Expected(IEnumerable<OperationalEvent> events) =>
            OrderState.Fold(WorkflowDefinition.Default, events).StepTimings(WorkflowDefinition.Default)
                .Select(t => (t.Step, t.ReadyAt?.UtcDateTime, t.SucceededAt.UtcDateTime)).ToList();

        static async Task<List<(string, DateTime?, DateTime)>> StepsAsync(ReadModel readModel) =>
            (await readModel.RowsAsync("select o.step, o.ready_at, o.succeeded_at from order_steps o join workflow_steps w using (step) where o.order_id = 'ORD-FOLD' order by w.position"))
                .Select(r => ((string)r["step"]!, (DateTime?)r["ready_at"], (DateTime)r["succeeded_at"]!)).ToList();
    }

    public void Dispose() => _kafka.Dispose();
}
