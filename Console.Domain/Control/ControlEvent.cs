namespace OrderFlow.Domain.Control;

/// <summary>Who asked for an operator action: the person and the role they acted in.</summary>
public sealed record ControlRequester(string User, string Role);

/// <summary>The type-specific <c>data</c> object of a control event. Its runtime type decides the event's <c>type</c>.</summary>
public abstract record ControlData;

/// <summary>An operator asked the customer to retry a failed payment (<c>payment-retry-outreach-requested</c>).</summary>
public sealed record PaymentRetryOutreachRequested(string Channel) : ControlData
{
    /// <summary>The channels the contract knows, in the order the documentation lists them.</summary>
    public static IReadOnlyList<string> Channels { get; } = ["email", "sms", "phone"];
}

/// <summary>An operator asked the order service to expire an order (<c>order-expiry-requested</c>). No data.</summary>
public sealed record OrderExpiryRequested : ControlData;

/// <summary>What both dead-letter commands say about the dead letter they act on.</summary>
public abstract record DeadLetterCommand(
    long DeadLetterId,
    string DeadLetterTopic,
    string? SourceTopic,
    int? SourcePartition,
    long? SourceOffset) : ControlData;

/// <summary>A dead letter's original key, value and headers were produced again to a retry topic (<c>dead-letter-replayed</c>).</summary>
public sealed record DeadLetterReplayed(
    long DeadLetterId,
    string DeadLetterTopic,
    string? SourceTopic,
    int? SourcePartition,
    long? SourceOffset,
    string RetryTopic) : DeadLetterCommand(DeadLetterId, DeadLetterTopic, SourceTopic, SourcePartition, SourceOffset);

/// <summary>A dead letter was given up on (<c>dead-letter-purged</c>).</summary>
public sealed record DeadLetterPurged(
    long DeadLetterId,
    string DeadLetterTopic,
    string? SourceTopic,
    int? SourcePartition,
    long? SourceOffset) : DeadLetterCommand(DeadLetterId, DeadLetterTopic, SourceTopic, SourcePartition, SourceOffset);

/// <summary>The type names of the control-event contract (docs/control-events.md).</summary>
public static class ControlEventTypes
{
    public const string PaymentRetryOutreachRequested = "payment-retry-outreach-requested";
    public const string OrderExpiryRequested = "order-expiry-requested";
    public const string DeadLetterReplayed = "dead-letter-replayed";
    public const string DeadLetterPurged = "dead-letter-purged";

    public static IReadOnlyList<string> All { get; } =
        [PaymentRetryOutreachRequested, OrderExpiryRequested, DeadLetterReplayed, DeadLetterPurged];

    /// <summary>Types that act on one order and so require an orderId (the record key).</summary>
    public static bool RequiresOrder(string type) => type is PaymentRetryOutreachRequested or OrderExpiryRequested;

    public static string Of(ControlData data) => data switch
    {
        Control.PaymentRetryOutreachRequested => PaymentRetryOutreachRequested,
        Control.OrderExpiryRequested => OrderExpiryRequested,
        Control.DeadLetterReplayed => DeadLetterReplayed,
        Control.DeadLetterPurged => DeadLetterPurged,
        _ => throw new ArgumentOutOfRangeException(nameof(data), data.GetType().Name, "not a control-event data type"),
    };
}

/// <summary>
/// "An operator did or asked for X": one record on the control topic (order-control). Keyed by OrderId like the
/// operational events, so a command and the events of its order stay in order; a dead-letter command without an
/// order is keyed <c>dead-letter:&lt;deadLetterId&gt;</c>. Consumers de-duplicate by CommandId.
/// </summary>
public sealed record ControlEvent(
    Guid CommandId,
    string? OrderId,
    ControlRequester RequestedBy,
    DateTimeOffset RequestedAt,
    string Reason,
    ControlData Data,
    int SchemaVersion = ControlEvent.CurrentSchemaVersion)
{
    public const int CurrentSchemaVersion = 1;

    /// <summary>The key prefix of a dead-letter command that has no order link.</summary>
    public const string DeadLetterKeyPrefix = "dead-letter:";

    public string Type => ControlEventTypes.Of(Data);

    /// <summary>The Kafka record key this event must be produced with.</summary>
    public string Key => KeyFor(OrderId, Data);

    public static string KeyFor(string? orderId, ControlData data) =>
        orderId ?? (data is DeadLetterCommand dl
            ? DeadLetterKeyPrefix + dl.DeadLetterId.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : throw new InvalidOperationException($"a {ControlEventTypes.Of(data)} control event needs an orderId"));
}
