namespace OrderFlow.Domain.Events;

public enum StepOutcome
{
    Succeeded,
    Failed,
}

/// <summary>"Order X finished step Y": one record on the operational topic, keyed by OrderId.</summary>
public sealed record OperationalEvent(
    Guid EventId,
    string OrderId,
    string Step,
    string Service,
    StepOutcome Outcome,
    string? Reason,
    DateTimeOffset OccurredAt,
    int SchemaVersion,
    string AttributesJson)
{
    public const int CurrentSchemaVersion = 1;
}
