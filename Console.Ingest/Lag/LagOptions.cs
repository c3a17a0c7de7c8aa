using System.ComponentModel.DataAnnotations;

namespace OrderFlow.Ingest.Lag;

/// <summary>Section "Lag": which consumer groups to watch and how.</summary>
public sealed class LagOptions
{
    public const string Section = "Lag";

    /// <summary>
    /// Consumer groups of the workflow, configured explicitly: listing groups is not done because the embedded
    /// broker crashes the client on ListConsumerGroups (docs/decisions/0002).
    /// </summary>
    /// <remarks>Comma-separated, so configuration replaces the default instead of appending to it.</remarks>
    [Required]
    public string Groups { get; set; } = "order-flow-console,order-flow-console-dead-letters,payment-service,stock-service,shipping-service,order-service";

    /// <summary>Topics whose partitions are sampled for every group (comma-separated); empty means the operational topic.</summary>
    public string Topics { get; set; } = "";

    public IReadOnlyList<string> GroupList => Split(Groups);

    public IReadOnlyList<string> TopicList => Split(Topics);

    private static string[] Split(string value) => value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Samples per partition in Burrow's sliding window.</summary>
    [Range(2, 100)]
    public int WindowSamples { get; set; } = 10;

    /// <summary>No committed-offset progress for this long while lagging means the consumer stopped.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan StopAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long samples are kept in PostgreSQL.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(6);
}
