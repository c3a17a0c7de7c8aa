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
    public static LagImpact Estimate(long messagesBehind, double drainPerSecond, IReadOnlyCollection<DateTimeOffset> waitingDueAt, DateTimeOffset now, TimeSpan horizon) =>
        Estimate(messagesBehind, drainPerSecond, waitingDueAt.Count, 0, waitingDueAt.Where(due => due <= now + horizon).ToList(), now, horizon);

    /// <summary>
    /// The same estimate from how many orders wait (<paramref name="waiting"/>), how many of them the SLA watcher has
    /// already recorded as breached (<paramref name="breached"/>: their deadline is behind them, whatever the drain), and
    /// the deadlines of the others due by the horizon's end (<paramref name="dueByHorizon"/>; later ones may be in it too
    /// and are ignored): only those can breach within the horizon or be past due before the watcher saw them, so the
    /// reader need not fetch every waiting order's deadline.
    /// </summary>
    public static LagImpact Estimate(long messagesBehind, double drainPerSecond, int waiting, int breached, IReadOnlyCollection<DateTimeOffset> dueByHorizon, DateTimeOffset now, TimeSpan horizon)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(breached);
        ArgumentOutOfRangeException.ThrowIfNegative(messagesBehind);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(horizon, TimeSpan.Zero);
        var drain = double.IsFinite(drainPerSecond) ? Math.Max(0, drainPerSecond) : 0;
        TimeSpan? timeToDrain = messagesBehind == 0 ? TimeSpan.Zero
            : drain > 0 ? TimeSpan.FromSeconds(Math.Min(messagesBehind / drain, TimeSpan.MaxValue.TotalSeconds / 2)) : null;
        var end = now + horizon;
        var alreadyBreached = breached + dueByHorizon.Count(due => due <= now);
        var pending = Math.Max(waiting - alreadyBreached, 0);
        var soon = dueByHorizon.Where(due => due > now && due <= end).Order().ToArray();
        var breaching = 0;
        for (var i = 0; i < soon.Length; i++)
        {
            var reachedAfter = timeToDrain is { } drainTime ? drainTime * ((i + 1) / (double)Math.Max(pending, soon.Length)) : TimeSpan.MaxValue;
            if (reachedAfter == TimeSpan.MaxValue || now + reachedAfter > soon[i])
            {
                breaching++;
            }
        }

        return new LagImpact(Math.Max(waiting, alreadyBreached + soon.Length), alreadyBreached, breaching, timeToDrain, horizon);
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
