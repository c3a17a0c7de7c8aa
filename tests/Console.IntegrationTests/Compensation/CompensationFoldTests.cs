using OrderFlow.Domain.Events;
using OrderFlow.Ingest.Sla;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Compensation;

/// <summary>Refunds and stock releases through the real broker protocol into PostgreSQL: expected after expiry, flagged otherwise.</summary>
[Collection(PostgresCollection.Name)]
public sealed class CompensationFoldTests(PostgresServer postgres) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);
    private readonly KafkaBroker _kafka = new();

    [Fact]
    public async Task Compensation_after_expiry_is_stored_without_the_after_terminal_flag_and_recorded_on_the_order()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers);
        using var producer = _kafka.CreateProducer();

        await producer.PublishAsync([
            Events.Step("ORD-C1", "order-placed", 0),
            Events.Step("ORD-C1", "payment-authorized", 1),
            Events.Step("ORD-C1", "stock-reserved", 2),
            Events.Step("ORD-C1", "order-expired", 10, eventId: OrderFlow.Domain.Sla.SlaExpiry.EventId("ORD-C1")),
            Events.Step("ORD-C1", "payment-refunded", 11, eventId: NameBasedEventId.For("payment-refunded", "ORD-C1")),
            Events.Step("ORD-C1", "stock-released", 12, eventId: NameBasedEventId.For("stock-released", "ORD-C1")),
            // Published again after a restart of the service: the same name-based id.
            Events.Step("ORD-C1", "payment-refunded", 13, eventId: NameBasedEventId.For("payment-refunded", "ORD-C1")),
        ]);
        // For contrast: a refund after the order completed, and a refund of a payment that never succeeded.
        await producer.PublishAsync([.. Events.HappyPath("ORD-C2"), Events.Step("ORD-C2", "payment-refunded", 9)]);
        await producer.PublishAsync([
            Events.Step("ORD-C3", "order-placed", 0),
            Events.Step("ORD-C3", "payment-authorized", 1, succeeded: false, reason: "invalid payment details"),
            Events.Step("ORD-C3", "order-cancelled", 5),
            Events.Step("ORD-C3", "payment-refunded", 6),
        ]);

        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events where order_id like 'ORD-C%'"), n => n == 7 + 6 + 4, Timeout, "every event to be stored");

        Assert.Equal(
            ["order-placed:", "payment-authorized:", "stock-reserved:", "order-expired:", "payment-refunded:", "stock-released:", "payment-refunded:duplicate"],
            await FlagsAsync(readModel, "ORD-C1"));
        var order = Assert.Single(await readModel.RowsAsync(
            "select status, last_step, flagged_count, event_count from orders where order_id = 'ORD-C1'"));
        Assert.Equal("expired", order["status"]);
        Assert.Equal("stock-released", order["last_step"]);
        Assert.Equal(1, order["flagged_count"]);
        Assert.Equal(6, order["event_count"]);
        var compensated = (await readModel.StoredStatesAsync(["ORD-C1"]))["ORD-C1"].Compensated;
        Assert.Equal(Events.T0.AddSeconds(11), compensated["payment-authorized"]);
        Assert.Equal(Events.T0.AddSeconds(12), compensated["stock-reserved"]);

        Assert.Equal("payment-refunded:after-terminal", (await FlagsAsync(readModel, "ORD-C2"))[^1]);
        Assert.Equal("payment-refunded:nothing-to-compensate", (await FlagsAsync(readModel, "ORD-C3"))[^1]);
        Assert.Equal("cancelled", (await readModel.RowsAsync("select status from orders where order_id = 'ORD-C3'"))[0]["status"]);
        Assert.Equal(0, await readModel.CountAsync("select count(*) from quarantined_records"));
    }

    public void Dispose() => _kafka.Dispose();

    /// <summary>"step:flag,flag" per stored event, in the order they were produced.</summary>
    private static async Task<List<string>> FlagsAsync(ReadModel readModel, string orderId) =>
        (await readModel.RowsAsync("select step, array_to_string(flags, ',') as flags from order_events where order_id = @id order by \"offset\"", ("id", orderId)))
            .Select(r => $"{r["step"]}:{r["flags"]}")
            .ToList();
}
