using System.ComponentModel.DataAnnotations;

namespace OrderFlow.Ingest.Outbox;

/// <summary>Section "Outbox".</summary>
public sealed class OutboxOptions
{
    public const string Section = "Outbox";

    /// <summary>How long a published row is kept (its dedupe key blocks a repeat for that long) before it is pruned.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan KeepPublished { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often published rows are pruned.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan PruneInterval { get; set; } = TimeSpan.FromMinutes(10);
}
