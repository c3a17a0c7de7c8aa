namespace OrderFlow.Domain.Events;

/// <summary>A step outcome as the event contract and the read model (order_events.outcome) name it.</summary>
public static class StepOutcomeNames
{
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";

    public static string ToName(this StepOutcome outcome) => outcome == StepOutcome.Succeeded ? Succeeded : Failed;
}
