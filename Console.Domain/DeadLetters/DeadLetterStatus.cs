namespace OrderFlow.Domain.DeadLetters;

/// <summary>Where a stored dead letter stands (dead_letters.status): operator actions move it on, nothing else does.</summary>
public enum DeadLetterStatus
{
    /// <summary>Stored, nobody acted on it yet.</summary>
    New,

    /// <summary>Its original record was produced again to the consuming service's retry topic.</summary>
    Replayed,

    /// <summary>Given up on, with a reason.</summary>
    Purged,

    /// <summary>Left for later, with a note.</summary>
    Skipped,
}

/// <summary>The names dead_letters.status holds (its check constraint lists the same four).</summary>
public static class DeadLetterStatusNames
{
    public const string New = "new";
    public const string Replayed = "replayed";
    public const string Purged = "purged";
    public const string Skipped = "skipped";

    private static readonly WireNames<DeadLetterStatus> Names = new(
        (DeadLetterStatus.New, New), (DeadLetterStatus.Replayed, Replayed), (DeadLetterStatus.Purged, Purged), (DeadLetterStatus.Skipped, Skipped));

    public static IReadOnlyList<string> All => Names.All;

    public static string ToName(this DeadLetterStatus status) => Names.Of(status);

    public static DeadLetterStatus? Parse(string? name) => Names.Parse(name);
}
