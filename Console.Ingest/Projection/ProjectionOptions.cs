using System.ComponentModel.DataAnnotations;

namespace OrderFlow.Ingest.Projection;

/// <summary>How the operational events are batched into PostgreSQL. Section "Projection".</summary>
public sealed class ProjectionOptions
{
    public const string Section = "Projection";

    [Range(1, 50_000)]
    public int MaxBatchSize { get; set; } = 2000;

    /// <summary>
    /// Longest time a partial batch waits for more records while its writer is free (what has already arrived always joins).
    /// 0: none — while a writer is busy its next batch grows anyway (natural batching, decision 0025), so waiting would
    /// only delay the first change after a quiet spell.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan MaxBatchWait { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// In-flight orders whose folded state the projection keeps in memory between batches (least recently written
    /// go first; terminal orders are not kept). 0 reads every order a batch touches back from PostgreSQL.
    /// </summary>
    [Range(0, 5_000_000)]
    public int CachedOrders { get; set; } = 100_000;

    /// <summary>
    /// Writer loops running side by side, each with its own transactions, for the partitions p with p % Writers = its number
    /// (per-partition order is kept; CachedOrders is shared out between them).
    /// </summary>
    [Range(1, 16)]
    public int Writers { get; set; } = 2;
}
