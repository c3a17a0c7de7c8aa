using OrderFlow.Domain.Lag;

namespace OrderFlow.Domain.Tests.Lag;

public sealed class LagImpactTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Ten = LagImpactEstimate.DefaultHorizon;

    private static DateTimeOffset[] DueInSeconds(params int[] seconds) => seconds.Select(s => Now.AddSeconds(s)).ToArray();

    [Fact]
    public void A_group_that_is_caught_up_breaches_nothing_it_waits_for()
    {
        var impact = LagImpactEstimate.Estimate(0, 0, DueInSeconds(5, 30, 300), Now, Ten);

        Assert.Equal(3, impact.Waiting);
        Assert.Equal(0, impact.BreachWithinHorizon);
        Assert.Equal(TimeSpan.Zero, impact.TimeToDrain);
    }

    [Fact]
    public void Orders_reached_after_their_deadline_at_the_drain_rate_breach()
    {
        // 100 behind at 1/s: the 4 orders are reached after 25, 50, 75, 100 s.
        var impact = LagImpactEstimate.Estimate(100, 1, DueInSeconds(30, 40, 90, 500), Now, Ten);

        Assert.Equal(TimeSpan.FromSeconds(100), impact.TimeToDrain);
        Assert.Equal(1, impact.BreachWithinHorizon); // only due 40 (reached at 50 s); 30 is reached at 25 s, 90 at 75 s
    }

    [Fact]
    public void A_stalled_group_breaches_every_deadline_inside_the_horizon()
    {
        var impact = LagImpactEstimate.Estimate(50, 0, DueInSeconds(10, 599, 601), Now, Ten);

        Assert.True(impact.Stalled);
        Assert.Equal(2, impact.BreachWithinHorizon);
    }

    [Fact]
    public void Orders_already_past_their_deadline_are_counted_apart()
    {
        var impact = LagImpactEstimate.Estimate(50, 0, DueInSeconds(-5, -1, 10), Now, Ten);

        Assert.Equal(2, impact.AlreadyBreached);
        Assert.Equal(1, impact.BreachWithinHorizon);
        Assert.Equal(3, impact.Waiting);
    }

    [Fact]
    public void Only_the_deadlines_due_by_the_horizon_and_how_many_wait_are_needed()
    {
        // 1,000 waiting: 2 past their deadline, 2 due within the horizon, 996 due later (never read by LagQueries).
        // 200 behind at 1/s: the earliest pending order is reached after 200/998 s, the second after 400/998 s.
        var soon = new[] { Now.AddSeconds(-5), Now.AddSeconds(-1), Now.AddMilliseconds(100), Now.AddSeconds(1) };
        var later = Enumerable.Range(1, 996).Select(i => Now.AddHours(1).AddSeconds(i));

        var fromFew = LagImpactEstimate.Estimate(200, 1, 1000, 0, soon, Now, Ten);
        var fromAll = LagImpactEstimate.Estimate(200, 1, [.. soon, .. later], Now, Ten);

        Assert.Equal(fromAll, fromFew);
        Assert.Equal(1000, fromFew.Waiting);
        Assert.Equal(2, fromFew.AlreadyBreached);
        Assert.Equal(1, fromFew.BreachWithinHorizon); // due in 0.1 s, reached in 0.2 s; due in 1 s, reached in 0.4 s
    }

    [Fact]
    public void Orders_the_watcher_recorded_as_breached_count_as_already_breached_and_not_as_pending()
    {
        // 10 waiting, 6 of them recorded as breached (no longer watched, so no deadline read for them), 1 past due that the
        // watcher has not reached yet, 3 due within the horizon (5, 15, 25 s). 30 behind at 1/s: 10 - 7 = 3 pending,
        // reached after 10, 20 and 30 s, each after its deadline. Were the 6 breached
        // taken as pending (9 of them), the 3 would be reached after 3.3, 6.7 and 10 s, before their deadlines.
        var impact = LagImpactEstimate.Estimate(30, 1, 10, 6, DueInSeconds(-2, 5, 15, 25), Now, Ten);
        var breachedUnknown = LagImpactEstimate.Estimate(30, 1, 10, 0, DueInSeconds(-2, 5, 15, 25), Now, Ten);

        Assert.Equal(10, impact.Waiting);
        Assert.Equal(7, impact.AlreadyBreached);
        Assert.Equal(3, impact.BreachWithinHorizon);
        Assert.Equal(1, breachedUnknown.AlreadyBreached);
        Assert.Equal(0, breachedUnknown.BreachWithinHorizon);
    }

    [Fact]
    public void A_faster_drain_saves_orders()
    {
        var due = DueInSeconds(20, 40, 60, 80);

        var slow = LagImpactEstimate.Estimate(400, 2, due, Now, Ten);
        var fast = LagImpactEstimate.Estimate(400, 40, due, Now, Ten);

        Assert.Equal(4, slow.BreachWithinHorizon);
        Assert.Equal(0, fast.BreachWithinHorizon);
    }

    [Fact]
    public void Drain_rate_is_committed_progress_over_the_window_summed_over_partitions()
    {
        var p0 = new[] { new LagSample(Now, 100, 200), new LagSample(Now.AddSeconds(10), 150, 200) };
        var p1 = new[] { new LagSample(Now, 10, 20), new LagSample(Now.AddSeconds(10), 60, 90) };
        var rewound = new[] { new LagSample(Now, 80, 90), new LagSample(Now.AddSeconds(10), 5, 90) };

        Assert.Equal(10.0, LagImpactEstimate.DrainRate([p0, p1, rewound]));
        Assert.Equal(0.0, LagImpactEstimate.DrainRate([[new LagSample(Now, 1, 2)]]));
    }
}
