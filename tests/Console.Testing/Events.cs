using Confluent.Kafka;
using OrderFlow.Domain.Events;

namespace OrderFlow.Testing;

/// <summary>Builds operational events and records the way the services publish them.</summary>
public static class Events
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    public static OperationalEvent Step(string orderId, string step, int secondsAfterT0, bool succeeded = true, string? reason = null, Guid? eventId = null) =>
        new(eventId ?? Guid.NewGuid(), orderId, step, step.Split('-')[0] + "-service", succeeded ? StepOutcome.Succeeded : StepOutcome.Failed, reason,
            T0.AddSeconds(secondsAfterT0), OperationalEvent.CurrentSchemaVersion, "{}");

    /// <summary>An event that happened at the given moment (for tests that run against the real clock).</summary>
    public static OperationalEvent StepAt(string orderId, string step, DateTimeOffset occurredAt) =>
        new(Guid.NewGuid(), orderId, step, step.Split('-')[0] + "-service", StepOutcome.Succeeded, null, occurredAt, OperationalEvent.CurrentSchemaVersion, "{}");

    /// <summary>The full happy path of one order (5 events).</summary>
    public static IEnumerable<OperationalEvent> HappyPath(string orderId) =>
    [
        Step(orderId, "order-placed", 0),
        Step(orderId, "payment-authorized", 1),
        Step(orderId, "stock-reserved", 2),
        Step(orderId, "shipped", 3),
        Step(orderId, "order-completed", 4),
    ];

    public static Message<string, byte[]> ToMessage(OperationalEvent e) => new() { Key = e.OrderId, Value = OperationalEventCodec.Serialize(e) };

    public static async Task PublishAsync(this IProducer<string, byte[]> producer, IEnumerable<OperationalEvent> events, string topic = KafkaBroker.OperationalTopic)
    {
        foreach (var e in events)
        {
            await producer.ProduceAsync(topic, ToMessage(e));
        }
    }
}
