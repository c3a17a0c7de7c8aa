namespace OrderFlow.Domain.Orders;

/// <summary>
/// One step an order has passed, by event time: when it could start (every step it runs after had succeeded;
/// the order's first event for the first step) and when it first succeeded.
/// </summary>
public sealed record StepTiming(string Step, DateTimeOffset? ReadyAt, DateTimeOffset SucceededAt)
{
    /// <summary>Null while a step it runs after has not succeeded; negative when it succeeded before them (skipped dependencies).</summary>
    public TimeSpan? Duration => SucceededAt - ReadyAt;
}
