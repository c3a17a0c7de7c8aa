using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using OrderFlow.Domain.Control;
using OrderFlow.Domain.Events;
using OrderFlow.Ingest.Sla;
using OrderFlow.Testing;
using static OrderFlow.IntegrationTests.Simulator.SimulatorProcess;

namespace OrderFlow.IntegrationTests.Simulator;

/// <summary>The real simulator process reacting to control events and replayed records, observed on the operational topic.</summary>
public sealed class SimulatorReactionTests : IDisposable
{
    private const string ControlTopic = "order-control";
    private readonly KafkaBroker _kafka = new();
    private readonly IProducer<string, byte[]> _producer;
    private readonly TopicReader _ops;

    public SimulatorReactionTests()
    {
        _producer = _kafka.CreateProducer();
        _ops = new TopicReader(_kafka, KafkaBroker.OperationalTopic, 6);
    }

    [Fact]
    public async Task After_an_outreach_the_retried_payment_succeeds_and_the_order_completes()
    {
        await using var simulator = Start(_kafka, new() { ["Simulator__PaymentFailureRate"] = "1", ["Simulator__OutreachSuccessRate"] = "1" });
        await Place("ORD-OUT-1");
        await _ops.WaitForAsync(e => e is { OrderId: "ORD-OUT-1", Step: "payment-authorized", Outcome: StepOutcome.Failed }, "the first payment to fail", simulator);

        // A record that is not a control event is skipped with one warning; the next command is still handled.
        await _producer.ProduceAsync(ControlTopic, new Message<string, byte[]> { Key = "ORD-OUT-1", Value = Encoding.UTF8.GetBytes("""{"schemaVersion":1}""") });
        var outreach = Command("ORD-OUT-1", new PaymentRetryOutreachRequested("email"));
        await _producer.ProduceAsync(ControlTopic, ToMessage(outreach, correlationId: "ops-ticket-7"));

        var (retried, headers) = await _ops.WaitForAsync(e => e is { OrderId: "ORD-OUT-1", Step: "payment-authorized", Outcome: StepOutcome.Succeeded }, "the retried payment", simulator);
        var attributes = retried.Attributes();
        Assert.True(attributes.GetProperty("retry").GetBoolean());
        Assert.Equal(outreach.CommandId, attributes.GetProperty("outreachCommandId").GetGuid());
        Assert.Equal("email", attributes.GetProperty("channel").GetString());
        Assert.Equal("payment-service", retried.Service);
        Assert.Equal("ops-ticket-7", headers.Header("correlation-id"));

        await _ops.WaitForAsync(e => e is { OrderId: "ORD-OUT-1", Step: "order-completed" }, "the order to complete after the retried payment", simulator);
        Assert.Contains("ignored: missing commandId", simulator.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task After_an_outreach_with_no_chance_of_success_the_retried_payment_fails_again()
    {
        await using var simulator = Start(_kafka, new() { ["Simulator__PaymentFailureRate"] = "1", ["Simulator__OutreachSuccessRate"] = "0" });
        await Place("ORD-OUT-2");
        await _ops.WaitForAsync(e => e is { OrderId: "ORD-OUT-2", Step: "payment-authorized", Outcome: StepOutcome.Failed }, "the first payment to fail", simulator);

        var outreach = Command("ORD-OUT-2", new PaymentRetryOutreachRequested("sms"));
        await _producer.ProduceAsync(ControlTopic, ToMessage(outreach));

        var (retried, headers) = await _ops.WaitForAsync(
            e => e is { OrderId: "ORD-OUT-2", Step: "payment-authorized", Outcome: StepOutcome.Failed } && e.AttributesJson.Contains("retry", StringComparison.Ordinal),
            "the retried payment",
            simulator);
        Assert.Equal("payment retried after sms outreach: card declined", retried.Reason);
        Assert.Equal(outreach.CommandId, retried.Attributes().GetProperty("outreachCommandId").GetGuid());
        Assert.Equal(outreach.CommandId.ToString(), headers.Header("correlation-id"));
        Assert.DoesNotContain(_ops.Of("ORD-OUT-2"), e => e.Step == "payment-authorized" && e.Outcome == StepOutcome.Succeeded);
    }

    [Fact]
    public async Task An_order_left_unpaid_past_its_payment_window_is_expired_and_an_outreach_starts_the_window_again()
    {
        var window = TimeSpan.FromSeconds(5);
        await using var simulator = Start(_kafka, new()
        {
            ["Simulator__PaymentFailureRate"] = "1",
            ["Simulator__OutreachSuccessRate"] = "0",
            ["Simulator__PaymentWindow"] = "00:00:05",
        });
        // The control consumer reads before the orders are placed, so the outreach arrives well inside the first window
        // (its group can take seconds to join on a busy machine).
        await _producer.ProduceAsync(ControlTopic, new Message<string, byte[]> { Key = "ORD-UNPAID-0", Value = Encoding.UTF8.GetBytes("""{"schemaVersion":1}""") });
        await simulator.WaitForOutputAsync("ignored: missing commandId", SimulatorTimeouts.Reaction);
        await Place("ORD-UNPAID-1");
        await Place("ORD-UNPAID-2");
        await _ops.WaitForAsync(e => e is { OrderId: "ORD-UNPAID-2", Step: "payment-authorized", Outcome: StepOutcome.Failed }, "the first payment to fail", simulator);
        var outreach = Command("ORD-UNPAID-2", new PaymentRetryOutreachRequested("sms"));
        await _producer.ProduceAsync(ControlTopic, ToMessage(outreach));

        var (unpaid, _) = await _ops.WaitForAsync(e => e is { OrderId: "ORD-UNPAID-1", Step: "order-expired" }, "the unpaid order's expiry", simulator);
        var placed = Assert.Single(_ops.Of("ORD-UNPAID-1"), e => e.Step == "order-placed");
        Assert.Equal(("order-service", StepOutcome.Succeeded), (unpaid.Service, unpaid.Outcome));
        Assert.Equal("payment not authorized within 5 s of the order", unpaid.Reason);
        Assert.Equal(NameBasedEventId.For("order-expired", "ORD-UNPAID-1"), unpaid.EventId);
        Assert.True(unpaid.OccurredAt >= placed.OccurredAt + window, $"expired at {unpaid.OccurredAt:O}, placed at {placed.OccurredAt:O}");
        var attributes = unpaid.Attributes();
        Assert.Equal("order-service", attributes.GetProperty("expiredBy").GetString());
        Assert.Equal("00:00:05", attributes.GetProperty("paymentWindow").GetString());
        Assert.False(attributes.TryGetProperty("outreachCommandId", out _)); // the outreach report's mark of a retried payment
        Assert.False(attributes.TryGetProperty("afterOutreachCommandId", out _));

        // The outreach gave the other order a whole window from the request; its retried payment failed, so it expired then.
        var (afterOutreach, _) = await _ops.WaitForAsync(e => e is { OrderId: "ORD-UNPAID-2", Step: "order-expired" }, "the expiry after the outreach", simulator);
        Assert.Equal("payment not authorized within 5 s of the sms outreach", afterOutreach.Reason);
        Assert.True(afterOutreach.OccurredAt >= outreach.RequestedAt + window, $"expired at {afterOutreach.OccurredAt:O}, outreach at {outreach.RequestedAt:O}");
        Assert.Equal(outreach.CommandId, afterOutreach.Attributes().GetProperty("afterOutreachCommandId").GetGuid());
        Assert.False(afterOutreach.Attributes().TryGetProperty("outreachCommandId", out _));
        Assert.Contains(_ops.Of("ORD-UNPAID-2"), e => e is { Step: "payment-authorized", Outcome: StepOutcome.Failed } && e.AttributesJson.Contains("retry", StringComparison.Ordinal));

        // An order expired unpaid releases its stock and refunds nothing; each is expired once.
        await _ops.WaitForAsync(e => e is { OrderId: "ORD-UNPAID-1", Step: "stock-released" }, "the stock release", simulator);
        Assert.DoesNotContain(_ops.Of("ORD-UNPAID-1"), e => e.Step == "payment-refunded");
        Assert.Single(_ops.Of("ORD-UNPAID-1"), e => e.Step == "order-expired");
        Assert.Single(_ops.Of("ORD-UNPAID-2"), e => e.Step == "order-expired");
    }

    [Fact]
    public async Task An_expiry_requested_twice_expires_the_order_once_and_releases_its_stock()
    {
        await using var simulator = Start(_kafka, new() { ["Simulator__PaymentFailureRate"] = "1" });
        await Place("ORD-EXP-1");
        await _ops.WaitForAsync(e => e is { OrderId: "ORD-EXP-1", Step: "stock-reserved" }, "the stock reservation", simulator);
        await _ops.WaitForAsync(e => e is { OrderId: "ORD-EXP-1", Step: "payment-authorized" }, "the failed payment", simulator);

        var first = Command("ORD-EXP-1", new OrderExpiryRequested(), reason: "<b>no payment</b> \"after\" outreach");
        var second = Command("ORD-EXP-1", new OrderExpiryRequested(), reason: "asked again");
        await _producer.ProduceAsync(ControlTopic, ToMessage(first));
        await _producer.ProduceAsync(ControlTopic, ToMessage(second));
        await _producer.ProduceAsync(ControlTopic, ToMessage(first));

        await simulator.WaitForOutputAsync($"command {first.CommandId} (order-expiry-requested) seen before", SimulatorTimeouts.Reaction);
        // Refused either as a repeat or because the order service has already seen the order expire.
        await simulator.WaitForOutputAsync($"expiry of ORD-EXP-1 requested by {second.CommandId}", SimulatorTimeouts.Reaction);
        await _ops.WaitForAsync(e => e is { OrderId: "ORD-EXP-1", Step: "stock-released" }, "the stock release", simulator);
        await simulator.WaitForOutputAsync("ORD-EXP-1 order-expired, nothing to refund", SimulatorTimeouts.Reaction);

        var expiry = Assert.Single(_ops.Of("ORD-EXP-1"), e => e.Step == "order-expired");
        Assert.Equal(StepOutcome.Succeeded, expiry.Outcome);
        Assert.Equal("order-service", expiry.Service);
        Assert.Equal(NameBasedEventId.For("order-expired", "ORD-EXP-1"), expiry.EventId);
        Assert.Equal(OrderFlow.Domain.Sla.SlaExpiry.EventId("ORD-EXP-1"), expiry.EventId);
        Assert.Equal(first.Reason, expiry.Reason);
        var attributes = expiry.Attributes();
        Assert.Equal(first.Reason, attributes.GetProperty("reason").GetString());
        Assert.Equal("alice@shop.example", attributes.GetProperty("requestedBy").GetProperty("user").GetString());
        Assert.Equal("operator", attributes.GetProperty("requestedBy").GetProperty("role").GetString());
        Assert.Equal(first.CommandId, attributes.GetProperty("commandId").GetGuid());
        Assert.Single(_ops.Of("ORD-EXP-1"), e => e.Step == "stock-released");
        Assert.DoesNotContain(_ops.Of("ORD-EXP-1"), e => e.Step == "payment-refunded");
    }

    [Fact]
    public async Task Any_expiry_or_cancellation_refunds_the_payment_and_releases_the_stock()
    {
        // Shipping takes a minute, so none of these orders completes before it ends.
        await using var simulator = Start(_kafka, new() { ["Simulator__ShippingDelay"] = "00:01:00" });
        foreach (var orderId in new[] { "ORD-COMP-1", "ORD-COMP-2", "ORD-COMP-3" })
        {
            await Place(orderId);
            await _ops.WaitForAsync(e => e.OrderId == orderId && e is { Step: "payment-authorized", Outcome: StepOutcome.Succeeded }, $"the payment of {orderId}", simulator);
            await _ops.WaitForAsync(e => e.OrderId == orderId && e.Step == "stock-reserved", $"the stock of {orderId}", simulator);
        }

        // By an operator's request, by the console's SLA watcher, and by a cancellation from some other producer.
        await _producer.ProduceAsync(ControlTopic, ToMessage(Command("ORD-COMP-1", new OrderExpiryRequested())));
        await _producer.PublishAsync([Events.StepAt("ORD-COMP-2", "order-expired", DateTimeOffset.UtcNow) with { EventId = OrderFlow.Domain.Sla.SlaExpiry.EventId("ORD-COMP-2"), Service = OrderFlow.Domain.Sla.SlaExpiry.Service }]);
        await _producer.PublishAsync([Events.StepAt("ORD-COMP-3", "order-cancelled", DateTimeOffset.UtcNow)]);

        foreach (var orderId in new[] { "ORD-COMP-1", "ORD-COMP-2", "ORD-COMP-3" })
        {
            var (refund, _) = await _ops.WaitForAsync(e => e.OrderId == orderId && e.Step == "payment-refunded", $"the refund of {orderId}", simulator);
            var (release, _) = await _ops.WaitForAsync(e => e.OrderId == orderId && e.Step == "stock-released", $"the stock release of {orderId}", simulator);
            var ended = Assert.Single(_ops.Of(orderId), e => e.Step is "order-expired" or "order-cancelled");

            Assert.Equal(("payment-service", StepOutcome.Succeeded), (refund.Service, refund.Outcome));
            Assert.Equal(("stock-service", StepOutcome.Succeeded), (release.Service, release.Outcome));
            Assert.Equal(NameBasedEventId.For("payment-refunded", orderId), refund.EventId);
            Assert.Equal(NameBasedEventId.For("stock-released", orderId), release.EventId);
            Assert.Equal("payment-authorized", refund.Attributes().GetProperty("compensates").GetString());
            Assert.Equal("stock-reserved", release.Attributes().GetProperty("compensates").GetString());
            Assert.Equal(ended.Step, refund.Attributes().GetProperty("trigger").GetString());
            Assert.Equal(ended.EventId, release.Attributes().GetProperty("triggerEventId").GetGuid());
        }
    }

    [Fact]
    public async Task A_dead_letter_replayed_to_the_retry_topic_is_processed_and_the_order_proceeds()
    {
        await using var simulator = Start(_kafka, new() { ["Simulator__PoisonRate"] = "1" });
        using var deadLetters = new TopicReader(_kafka, "payments-dlq", 1);
        await Place("ORD-DLQ-1");

        var deadLetter = await Eventually.UntilAsync(
            () => Task.FromResult(deadLetters.Records.FirstOrDefault()), r => r is not null, SimulatorTimeouts.Reaction, "the poison record on payments-dlq");
        Assert.Equal("ORD-DLQ-1", Encoding.UTF8.GetString(deadLetter!.Message.Key!));
        Assert.Equal("order-ops", deadLetter.Message.Headers.Header("dlq-original-topic"));
        Assert.Equal("payment-service", deadLetter.Message.Headers.Header("dlq-service"));
        Assert.NotNull(deadLetter.Message.Headers.Header("dlq-original-offset"));
        await _ops.WaitForAsync(e => e is { OrderId: "ORD-DLQ-1", Step: "stock-reserved" }, "the stock reservation", simulator);
        Assert.DoesNotContain(_ops.Of("ORD-DLQ-1"), e => e.Step == "payment-authorized");

        // What a replay does: the original key, value and headers, produced again to the retry topic.
        var headers = new Headers();
        foreach (var header in deadLetter.Message.Headers)
        {
            headers.Add(header.Key, header.GetValueBytes());
        }

        await _producer.ProduceAsync("order-retry", new Message<string, byte[]> { Key = "ORD-DLQ-1", Value = deadLetter.Message.Value!, Headers = headers });
        var replay = new DeadLetterReplayed(1, "payments-dlq", "order-ops", deadLetter.Partition.Value, deadLetter.Offset.Value, "order-retry");
        await _producer.ProduceAsync(ControlTopic, ToMessage(Command("ORD-DLQ-1", replay)));

        var (payment, _) = await _ops.WaitForAsync(e => e is { OrderId: "ORD-DLQ-1", Step: "payment-authorized" }, "the payment of the replayed order", simulator);
        Assert.Equal(StepOutcome.Succeeded, payment.Outcome);
        Assert.True(payment.Attributes().GetProperty("replayed").GetBoolean());
        await _ops.WaitForAsync(e => e is { OrderId: "ORD-DLQ-1", Step: "order-completed" }, "the replayed order to complete", simulator);
        Assert.Single(deadLetters.Records);
        await simulator.WaitForOutputAsync("dead letter 1 replayed to order-retry", SimulatorTimeouts.Reaction);
    }

    [Fact]
    public async Task A_reaction_the_broker_refuses_is_handled_again_until_published_and_then_only_once()
    {
        await Place("ORD-PUB-1");
        // The broker refuses the next three produce requests, whoever sends them: here, the simulator's first reactions.
        const short produceApiKey = 0;
        const int invalidRecord = 87;
        _kafka.Cluster.PushRequestErrors(produceApiKey, invalidRecord, invalidRecord, invalidRecord);

        await using var simulator = Start(_kafka);

        await _ops.WaitForAsync(e => e is { OrderId: "ORD-PUB-1", Step: "order-completed" }, "the order to complete after the refused publishes", simulator);
        Assert.Contains("could not publish after order-ops", simulator.Output, StringComparison.Ordinal);
        foreach (var step in new[] { "payment-authorized", "stock-reserved", "shipped", "order-completed" })
        {
            Assert.Single(_ops.Of("ORD-PUB-1"), e => e.Step == step);
        }
    }

    public void Dispose()
    {
        _ops.Dispose();
        _producer.Dispose();
        _kafka.Dispose();
    }

    private Task Place(string orderId) => _producer.PublishAsync([Events.StepAt(orderId, "order-placed", DateTimeOffset.UtcNow)]);
}
