namespace OrderFlow.Domain.Lag;

/// <summary>What a consumer group's lag means for orders: how many wait at the step its service handles, and how many
/// of them will breach their deadline within the horizon if the group keeps draining at its current rate.</summary>
public sealed record LagImpact(int Waiting, int AlreadyBreached, int BreachWithinHorizon, TimeSpan? TimeToDrain, TimeSpan Horizon)
{
    /// <summary>Stalled: messages behind and nothing drained in the window.</summary>
    public bool Stalled => TimeToDrain is null;
}

public static class LagImpactEstimate
{
    public static readonly TimeSpan DefaultHorizon = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The group works through its backlog in order, so the waiting orders (taken in deadline order, a stand-in for the
    /// order they arrived in) are reached one after another as the backlog drains: the i-th of n is reached when
    /// (i+1)/n of <paramref name="messagesBehind"/> has been drained at <paramref name="drainPerSecond"/>.
    /// An order breaches within the horizon when its deadline falls inside the horizon and before it is reached.
    /// Orders already past their deadline are counted apart. No drain while behind: every deadline inside the horizon breaches.
    /// </summary>
    public static LagImpact Estimate(long messagesBehind, double drainPerSecond, IReadOnlyCollection<DateTimeOffset> waitingDueAt, DateTimeOffset now, TimeSpan horizon)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(messagesBehind);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(horizon, TimeSpan.Zero);
        var drain = double.IsFinite(drainPerSecond) ? Math.Max(0, drainPerSecond) : 0;
        TimeSpan? timeToDrain = messagesBehind == 0 ? TimeSpan.Zero
            : drain > 0 ? TimeSpan.FromSeconds(Math.Min(messagesBehind / drain, TimeSpan.MaxValue.TotalSeconds / 2)) : null;
        var pending = waitingDueAt.Where(due => due > now).Order().ToArray();
        var alreadyBreached = waitingDueAt.Count - pending.Length;
        var end = now + horizon;
        var breaching = 0;
        for (var i = 0; i < pending.Length; i++)
        {
            var due = pending[i];
            if (due > end)
            {
                break;
            }

            var reachedAfter = timeToDrain is { } drainTime ? drainTime * ((i + 1) / (double)pending.Length) : TimeSpan.MaxValue;
            if (reachedAfter == TimeSpan.MaxValue || now + reachedAfter > due)
            {
                breaching++;
            }
        }

        return new LagImpact(waitingDueAt.Count, alreadyBreached, breaching, timeToDrain, horizon);
    }

    /// <summary>Messages drained per second over the window: committed-offset progress of all partitions (oldest first per partition), rewinds ignored.</summary>
    public static double DrainRate(IEnumerable<IReadOnlyList<LagSample>> partitions)
    {
        long drained = 0;
        TimeSpan span = TimeSpan.Zero;
        foreach (var window in partitions)
        {
            if (window.Count < 2)
            {
                continue;
            }

            drained += Math.Max(0, window[^1].CommittedOffset - window[0].CommittedOffset);
            var length = window[^1].At - window[0].At;
            span = length > span ? length : span;
        }

        return span > TimeSpan.Zero ? drained / span.TotalSeconds : 0;
    }
}
