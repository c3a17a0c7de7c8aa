using OrderFlow.Domain.Control;
using OrderFlow.Testing;
using static OrderFlow.IntegrationTests.Simulator.SimulatorProcess;

namespace OrderFlow.IntegrationTests.Simulator;

/// <summary>The whole loop: an operator's command on order-control, the simulator's reaction on order-ops, the read model in PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ControlToReadModelTests(PostgresServer postgres) : IDisposable
{
    private readonly KafkaBroker _kafka = new();

    [Fact]
    public async Task An_expiry_requested_by_an_operator_expires_the_order_and_its_compensations_fold_unflagged()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers);
        // Shipping takes a minute: the order is still in progress when the operator gives it up.
        await using var simulator = SimulatorProcess.Start(_kafka, new() { ["Simulator__ShippingDelay"] = "00:01:00" });
        using var producer = _kafka.CreateProducer();

        await producer.PublishAsync([Events.StepAt("ORD-E2E-1", "order-placed", DateTimeOffset.UtcNow)]);
        await Eventually.UntilAsync(
            () => readModel.CountAsync("select count(*) from order_events where order_id = 'ORD-E2E-1' and step in ('payment-authorized', 'stock-reserved') and outcome = 'succeeded'"),
            n => n == 2, SimulatorTimeouts.Reaction, "payment and stock in the read model");

        await producer.ProduceAsync("order-control", ToMessage(Command("ORD-E2E-1", new OrderExpiryRequested(), reason: "customer cancelled by phone"), correlationId: "ops-ticket-9"));

        await Eventually.UntilAsync(
            () => readModel.CountAsync("select count(*) from order_events where order_id = 'ORD-E2E-1' and step in ('payment-refunded', 'stock-released')"),
            n => n == 2, SimulatorTimeouts.Reaction, "refund and release in the read model");
        var events = await readModel.RowsAsync(
            "select step, service, array_to_string(flags, ',') as flags, trace_id from order_events where order_id = 'ORD-E2E-1' and step in ('order-expired', 'payment-refunded', 'stock-released') order by occurred_at");
        Assert.Equal(["order-expired", "payment-refunded", "stock-released"], events.Select(e => (string)e["step"]!).Take(1).Concat(events.Skip(1).Select(e => (string)e["step"]!).Order(StringComparer.Ordinal)));
        // Never after-terminal; refund and release come from two services at once, so one of them may arrive late.
        Assert.All(events, e => Assert.Contains((string)e["flags"]!, new[] { "", "late" }));
        Assert.All(events, e => Assert.Equal("ops-ticket-9", e["trace_id"]));
        Assert.Equal("expired", (await readModel.RowsAsync("select status from orders where order_id = 'ORD-E2E-1'"))[0]["status"]);
        Assert.Equal(2, (await readModel.StoredStatesAsync(["ORD-E2E-1"]))["ORD-E2E-1"].Compensated.Count);
        // The services publish independently, so an event may arrive after a later one (late); nothing else is flagged.
        var flags = await readModel.RowsAsync("select step, array_to_string(flags, ',') as flags from order_events where order_id = 'ORD-E2E-1' and cardinality(flags) > 0");
        Assert.All(flags, f => Assert.Equal("late", f["flags"]));
    }

    public void Dispose() => _kafka.Dispose();
}
