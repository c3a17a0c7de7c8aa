namespace OrderFlow.Domain.Orders;

/// <summary>Event flags as the read model (order_events.flags), the JSON API and the screens name them.</summary>
public static class EventFlagNames
{
    public const string Duplicate = "duplicate";
    public const string Late = "late";
    public const string AfterTerminal = "after-terminal";
    public const string UnplannedStep = "unplanned-step";
    public const string Repeated = "repeated";
    public const string SkippedDependencies = "skipped-dependencies";
    public const string NothingToCompensate = "nothing-to-compensate";

    private static readonly (EventFlags Flag, string Name)[] Names =
    [
        (EventFlags.Duplicate, Duplicate),
        (EventFlags.Late, Late),
        (EventFlags.AfterTerminal, AfterTerminal),
        (EventFlags.UnplannedStep, UnplannedStep),
        (EventFlags.Repeated, Repeated),
        (EventFlags.SkippedDependencies, SkippedDependencies),
        (EventFlags.NothingToCompensate, NothingToCompensate),
    ];

    /// <summary>Every flag name, in the order of the flags.</summary>
    public static IReadOnlyList<string> All { get; } = Names.Select(n => n.Name).ToArray();

    /// <summary>The flags as the lower-case names used in the read model and the JSON API.</summary>
    public static string[] ToNames(this EventFlags flags) =>
        flags == EventFlags.None ? [] : Names.Where(n => (flags & n.Flag) != 0).Select(n => n.Name).ToArray();
}
