using System.Text.Json;
using OrderFlow.Domain.Events;

namespace OrderFlow.Domain.Sla;

/// <summary>
/// The order-expired event the console publishes when an order breaches its SLA under the Expire policy. Once per order:
/// the same order always gets the same name-based event id, so even a re-published record folds as a duplicate.
/// </summary>
public static class SlaExpiry
{
    /// <summary>The service the console's own events name.</summary>
    public const string Service = "order-flow-console";

    public const string Step = "order-expired";

    /// <summary>The id the SLA watcher and the simulator's order service both give an order's expiry.</summary>
    public static Guid EventId(string orderId) => NameBasedEventId.For(Step, orderId);

    /// <summary>The outbox dedupe key of an order's expiry: one per order, whoever queues it.</summary>
    public static string DedupeKey(string orderId) => "expire:" + orderId;

    /// <summary>The first clock that breached names the reason.</summary>
    public static string Reason(string scope, DateTimeOffset dueAt) => $"{scope} SLA breached (due {dueAt:O})";

    public static OperationalEvent Event(string orderId, string reason, DateTimeOffset now) =>
        new(EventId(orderId), orderId, Step, Service, StepOutcome.Succeeded, reason, now,
            OperationalEvent.CurrentSchemaVersion, JsonSerializer.Serialize(new { expiredBy = Service }));
}
