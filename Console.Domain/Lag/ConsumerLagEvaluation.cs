namespace OrderFlow.Domain.Lag;

/// <summary>Burrow's partition states: OK, WARN (lag keeps growing), STALL (committing but not moving),
/// STOP (no commit for a long time while lagging), REWIND (committed offset went backwards).</summary>
public enum LagStatus
{
    Ok,
    Warn,
    Stall,
    Stop,
    Rewind,
}

/// <summary>One observation of a partition: the group's committed offset and the partition's high watermark.</summary>
public sealed record LagSample(DateTimeOffset At, long CommittedOffset, long HighWatermark)
{
    public long Lag => Math.Max(0, HighWatermark - CommittedOffset);
}

public sealed record PartitionLag(LagStatus Status, long Lag, TimeSpan? LagTime, string Reason);

/// <summary>Evaluates a sliding window of samples of one partition the way Burrow does, and estimates lag in time.</summary>
public static class ConsumerLagEvaluation
{
    /// <param name="window">Samples oldest first.</param>
    /// <param name="now">Evaluation time.</param>
    /// <param name="stopAfter">How long without a committed-offset change (while lagging) means the consumer stopped.</param>
    /// <param name="lastProgressAt">
    /// When the committed offset last changed, as tracked by the caller across samples older than the window;
    /// without it a STOP can only be seen when the window itself spans <paramref name="stopAfter"/>.
    /// </param>
    public static PartitionLag Evaluate(IReadOnlyList<LagSample> window, DateTimeOffset now, TimeSpan stopAfter, DateTimeOffset? lastProgressAt = null)
    {
        if (window.Count == 0)
        {
            return new PartitionLag(LagStatus.Ok, 0, null, "no samples yet");
        }

        var last = window[^1];
        var lagTime = EstimateLagTime(window, now);
        for (var i = 1; i < window.Count; i++)
        {
            if (window[i].CommittedOffset < window[i - 1].CommittedOffset)
            {
                return new PartitionLag(LagStatus.Rewind, last.Lag, lagTime, $"committed offset went back from {window[i - 1].CommittedOffset} to {window[i].CommittedOffset}");
            }
        }

        if (window.Any(s => s.Lag == 0))
        {
            return new PartitionLag(LagStatus.Ok, last.Lag, last.Lag == 0 ? TimeSpan.Zero : lagTime, "caught up within the window");
        }

        var lastMove = LastOffsetChange(window);
        if (lastProgressAt is { } tracked && lastMove == window[0].At && tracked < lastMove)
        {
            // No change inside the window: the last change is older than the window, as the caller tracked it.
            lastMove = tracked;
        }

        if (now - lastMove >= stopAfter)
        {
            return new PartitionLag(LagStatus.Stop, last.Lag, lagTime, $"no progress for {(now - lastMove).TotalSeconds:0}s while {last.Lag} behind");
        }

        if (window.Count >= 2 && window[0].CommittedOffset == last.CommittedOffset)
        {
            return new PartitionLag(LagStatus.Stall, last.Lag, lagTime, $"committed offset stuck at {last.CommittedOffset} while {last.Lag} behind");
        }

        var growing = window.Count >= 3;
        for (var i = 1; i < window.Count && growing; i++)
        {
            growing = window[i].Lag >= window[i - 1].Lag;
        }

        if (growing && last.Lag > window[0].Lag)
        {
            return new PartitionLag(LagStatus.Warn, last.Lag, lagTime, $"lag grew from {window[0].Lag} to {last.Lag} over the window");
        }

        return new PartitionLag(LagStatus.Ok, last.Lag, lagTime, "consuming");
    }

    /// <summary>The worst partition decides the group's status.</summary>
    public static LagStatus GroupStatus(IEnumerable<PartitionLag> partitions) =>
        partitions.Select(p => p.Status).DefaultIfEmpty(LagStatus.Ok).Max();

    /// <summary>Seconds behind: lag divided by the consume rate over the window; with no progress, the time since the last advance.</summary>
    public static TimeSpan? EstimateLagTime(IReadOnlyList<LagSample> window, DateTimeOffset now)
    {
        var last = window[^1];
        if (last.Lag == 0)
        {
            return TimeSpan.Zero;
        }

        var first = window[0];
        var elapsed = last.At - first.At;
        var consumed = last.CommittedOffset - first.CommittedOffset;
        if (elapsed > TimeSpan.Zero && consumed > 0)
        {
            return TimeSpan.FromSeconds(last.Lag / (consumed / elapsed.TotalSeconds));
        }

        return window.Count >= 2 ? now - LastOffsetChange(window) : null;
    }

    private static DateTimeOffset LastOffsetChange(IReadOnlyList<LagSample> window)
    {
        for (var i = window.Count - 1; i > 0; i--)
        {
            if (window[i].CommittedOffset != window[i - 1].CommittedOffset)
            {
                return window[i].At;
            }
        }

        return window[0].At;
    }
}
