namespace OrderFlow.Domain.Orders;

public static class EventFlagNames
{
    private static readonly (EventFlags Flag, string Name)[] Names =
    [
        (EventFlags.Duplicate, "duplicate"),
        (EventFlags.Late, "late"),
        (EventFlags.AfterTerminal, "after-terminal"),
        (EventFlags.UnknownStep, "unknown-step"),
        (EventFlags.Repeated, "repeated"),
        (EventFlags.SkippedDependencies, "skipped-dependencies"),
        (EventFlags.NothingToCompensate, "nothing-to-compensate"),
    ];

    /// <summary>The flags as the lower-case names used in the read model and the JSON API.</summary>
    public static string[] ToNames(this EventFlags flags) =>
        flags == EventFlags.None ? [] : Names.Where(n => (flags & n.Flag) != 0).Select(n => n.Name).ToArray();
}
