namespace OrderFlow.Web.Flow;

/// <summary>
/// How many flow dashboards (pages and wallboards) this process shows, and so how often each may re-render while the read
/// model changes without pause: their renders together stay within one budget. Few open: every
/// <see cref="MinGap"/>; many: a gap of <see cref="PerDashboard"/> for each, up to <see cref="MaxGap"/>. At 200 open
/// that is 100 ms, the gap every dashboard had before (docs/benchmarks.md, decision 0030); with few open a change waits
/// a quarter of that for the next render.
/// </summary>
public sealed class DashboardAudience
{
    public static readonly TimeSpan MinGap = TimeSpan.FromMilliseconds(25);
    public static readonly TimeSpan PerDashboard = TimeSpan.FromMilliseconds(0.5);
    public static readonly TimeSpan MaxGap = TimeSpan.FromMilliseconds(250);

    private int _open;

    public int Open => Volatile.Read(ref _open);

    /// <summary>The gap between two renders of one dashboard now.</summary>
    public TimeSpan Gap => GapFor(Open);

    public static TimeSpan GapFor(int open)
    {
        var gap = PerDashboard * Math.Max(open, 0);
        return gap < MinGap ? MinGap : gap > MaxGap ? MaxGap : gap;
    }

    /// <summary>Counts a dashboard until the returned handle is disposed (once).</summary>
    public IDisposable Enter()
    {
        Interlocked.Increment(ref _open);
        return new Seat(this);
    }

    private sealed class Seat(DashboardAudience audience) : IDisposable
    {
        private int _left;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0)
            {
                Interlocked.Decrement(ref audience._open);
            }
        }
    }
}
