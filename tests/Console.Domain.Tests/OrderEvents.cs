using OrderFlow.Domain.Events;

namespace OrderFlow.Domain.Tests;

/// <summary>Builds the operational events of one order at fixed times, with predictable event ids.</summary>
internal static class OrderEvents
{
    public const string OrderId = "order-1";

    public static readonly DateTimeOffset T0 = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    private static int nextId;

    public static OperationalEvent Succeeded(string step, int secondsAfterT0, Guid? eventId = null) =>
        Event(step, secondsAfterT0, StepOutcome.Succeeded, reason: null, eventId);

    public static OperationalEvent Failed(string step, int secondsAfterT0, string reason, Guid? eventId = null) =>
        Event(step, secondsAfterT0, StepOutcome.Failed, reason, eventId);

    /// <summary>Distinct ids that read as their number, so a failing test says which event it was.</summary>
    public static Guid Id(int n) => new($"00000000-0000-0000-0000-{n:D12}");

    /// <summary>The whole happy path, one second apart, in the order the services publish it.</summary>
    public static OperationalEvent[] HappyPath() =>
    [
        Succeeded("order-placed", 0),
        Succeeded("payment-authorized", 1),
        Succeeded("stock-reserved", 2),
        Succeeded("shipped", 3),
        Succeeded("order-completed", 4),
    ];

    /// <summary>Every arrival order of the events (n! of them).</summary>
    public static IEnumerable<OperationalEvent[]> Permutations(OperationalEvent[] events)
    {
        if (events.Length <= 1)
        {
            yield return events;
            yield break;
        }

        for (var i = 0; i < events.Length; i++)
        {
            OperationalEvent[] rest = [.. events[..i], .. events[(i + 1)..]];
            foreach (var tail in Permutations(rest))
            {
                yield return [events[i], .. tail];
            }
        }
    }

    private static OperationalEvent Event(string step, int secondsAfterT0, StepOutcome outcome, string? reason, Guid? eventId) =>
        new(
            eventId ?? Id(Interlocked.Increment(ref nextId)),
            OrderId,
            step,
            step.Split('-')[0] + "-service",
            outcome,
            reason,
            T0.AddSeconds(secondsAfterT0),
            OperationalEvent.CurrentSchemaVersion,
            "{}");
}
