using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Projection;

/// <summary>A well-formed event with a step the workflow does not name is observed, not quarantined (decision 0020).</summary>
[Collection(PostgresCollection.Name)]
public sealed class UnplannedStepTests(PostgresServer postgres) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly KafkaBroker _kafka = new();

    [Fact]
    public async Task A_new_step_is_stored_on_its_order_flagged_and_counted_and_moves_neither_status_nor_sla()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers);
        using var producer = _kafka.CreateProducer();

        // ORD-U takes the new step twice, ORD-V once; ORD-W is the same order without it, to compare against.
        await producer.PublishAsync(
        [
            Events.Step("ORD-U", "order-placed", 0),
            Events.Step("ORD-U", "fraud-checked", 1),
            Events.Step("ORD-U", "fraud-checked", 2, succeeded: false, reason: "score 0.97"),
            Events.Step("ORD-V", "order-placed", 0),
            Events.Step("ORD-V", "fraud-checked", 1),
            Events.Step("ORD-W", "order-placed", 0),
        ]);
        await producer.PublishAsync([Events.Step("ORD-U", "stock-reserved", 3)]);

        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events"), n => n == 7, Timeout, "7 stored events");
        Assert.Equal(0, await readModel.CountAsync("select count(*) from quarantined_records"));
        Assert.Equal(3, await readModel.CountAsync("select count(*) from order_events where step = 'fraud-checked' and flags = array['unplanned-step']"));
        var counted = await readModel.RowsAsync("select step, events, orders from unplanned_steps");
        Assert.Equal("fraud-checked", Assert.Single(counted)["step"]);
        Assert.Equal(3L, counted[0]["events"]);
        Assert.Equal(2L, counted[0]["orders"]);

        var orders = (await readModel.RowsAsync("select order_id, status, positions, last_failure, sla_due_at, flagged_count from orders order by order_id"))
            .ToDictionary(r => (string)r["order_id"]!);
        Assert.Equal("in-progress", orders["ORD-U"]["status"]);
        Assert.Null(orders["ORD-U"]["last_failure"]);
        Assert.Equal(["payment-authorized", "shipped"], (string[])orders["ORD-U"]["positions"]!);
        Assert.Equal(2, orders["ORD-U"]["flagged_count"]);
        Assert.Equal(["payment-authorized", "stock-reserved"], (string[])orders["ORD-V"]["positions"]!);
        Assert.Equal(orders["ORD-W"]["sla_due_at"], orders["ORD-V"]["sla_due_at"]);
    }

    [Fact]
    public async Task Counts_survive_a_restart_without_counting_an_event_twice()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        using var producer = _kafka.CreateProducer();
        await producer.PublishAsync([Events.Step("ORD-R", "order-placed", 0), Events.Step("ORD-R", "gift-wrapped", 1)]);

        await using (var first = await IngestHost.StartAsync(db, _kafka.BootstrapServers))
        {
            await Eventually.UntilAsync(() => readModel.CountAsync("select coalesce(sum(events), 0) from unplanned_steps"), n => n == 1, Timeout, "the first count");
        }

        // A restart resumes after the stored offsets: nothing is read twice, so nothing is counted twice.
        await using var second = await IngestHost.StartAsync(db, _kafka.BootstrapServers);
        await producer.PublishAsync([Events.Step("ORD-S", "gift-wrapped", 0)]);

        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events"), n => n == 3, Timeout, "3 stored events");
        await Eventually.UntilAsync(() => readModel.CountAsync("select events from unplanned_steps where step = 'gift-wrapped'"), n => n == 2, Timeout, "two gift-wrapped events");
        Assert.Equal(2, await readModel.CountAsync("select orders from unplanned_steps where step = 'gift-wrapped'"));
    }

    public void Dispose() => _kafka.Dispose();
}
