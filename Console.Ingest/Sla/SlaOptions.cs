using System.ComponentModel.DataAnnotations;

namespace OrderFlow.Ingest.Sla;

public enum ExpiryPolicy
{
    /// <summary>No SLA tracking.</summary>
    Off,

    /// <summary>Orders are marked at-risk and breached; nothing is published.</summary>
    AlertOnly,

    /// <summary>A breached order is expired: an order-expired operational event is published through the outbox.</summary>
    Expire,
}

/// <summary>Section "Sla", Console.Ingest's part (Sla:AtRiskShare, which Console.Web reads too, is <see cref="OrderFlow.Platform.Workflow.AtRiskOptions"/>).</summary>
public sealed class SlaOptions
{
    public const string Section = "Sla";

    public ExpiryPolicy ExpiryPolicy { get; set; } = ExpiryPolicy.AlertOnly;

    /// <summary>How often due deadlines are looked for (a breach is seen at most this long after it happens).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:01")]
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Breaches are held back while the projection is more than this many records behind order-ops (after an Ingest
    /// outage, for example): judged against a read model that has not seen the orders' latest events, orders that
    /// finished in time would breach (and, under Expire, be expired).
    /// </summary>
    [Range(1, int.MaxValue)]
    public int HoldBackWhenBehind { get; set; } = 5000;

    /// <summary>How often the projection's backlog is measured (stored offsets against the topic's high watermarks).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan BacklogCheckInterval { get; set; } = TimeSpan.FromSeconds(1);
}
