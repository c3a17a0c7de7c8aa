using OrderFlow.Domain.Lag;

namespace OrderFlow.Domain.Tests.Lag;

public sealed class ConsumerLagEvaluationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan StopAfter = TimeSpan.FromSeconds(60);

    private static List<LagSample> Samples(params (long Committed, long High)[] points) =>
        points.Select((p, i) => new LagSample(T0.AddSeconds(i), p.Committed, p.High)).ToList();

    private static PartitionLag Evaluate(List<LagSample> window, int nowSecondsAfterLast = 0) =>
        ConsumerLagEvaluation.Evaluate(window, window[^1].At.AddSeconds(nowSecondsAfterLast), StopAfter);

    [Fact]
    public void A_consumer_that_touches_zero_lag_in_the_window_is_ok()
    {
        var result = Evaluate(Samples((10, 10), (10, 15), (14, 20)));

        Assert.Equal(LagStatus.Ok, result.Status);
        Assert.Equal(6, result.Lag);
    }

    [Fact]
    public void Lag_that_grows_across_the_whole_window_warns()
    {
        var result = Evaluate(Samples((10, 20), (12, 25), (14, 30), (16, 40)));

        Assert.Equal(LagStatus.Warn, result.Status);
        Assert.Equal(24, result.Lag);
    }

    [Fact]
    public void No_progress_since_before_the_window_for_longer_than_stop_after_is_a_stop()
    {
        // A 3-sample window (3 s) can never span StopAfter (60 s) by itself: the caller's record of the last change decides.
        var window = Samples((10, 20), (10, 21), (10, 22));

        var result = ConsumerLagEvaluation.Evaluate(window, window[^1].At, StopAfter, lastProgressAt: window[^1].At - TimeSpan.FromSeconds(61));

        Assert.Equal(LagStatus.Stop, result.Status);
    }

    [Fact]
    public void Recent_progress_before_the_window_keeps_a_stuck_offset_a_stall()
    {
        var window = Samples((10, 20), (10, 21), (10, 22));

        var result = ConsumerLagEvaluation.Evaluate(window, window[^1].At, StopAfter, lastProgressAt: window[^1].At - TimeSpan.FromSeconds(20));

        Assert.Equal(LagStatus.Stall, result.Status);
    }

    [Fact]
    public void A_committed_offset_that_does_not_move_while_behind_is_a_stall()
    {
        var result = Evaluate(Samples((10, 20), (10, 21), (10, 22)));

        Assert.Equal(LagStatus.Stall, result.Status);
    }

    [Fact]
    public void No_progress_for_longer_than_the_stop_threshold_is_a_stop()
    {
        var result = Evaluate(Samples((10, 20), (10, 20), (10, 20)), nowSecondsAfterLast: 61);

        Assert.Equal(LagStatus.Stop, result.Status);
    }

    [Fact]
    public void A_committed_offset_that_goes_backwards_is_a_rewind()
    {
        var result = Evaluate(Samples((10, 20), (5, 20), (6, 20)));

        Assert.Equal(LagStatus.Rewind, result.Status);
    }

    [Fact]
    public void A_steadily_consuming_partition_is_ok()
    {
        var result = Evaluate(Samples((10, 30), (20, 40), (30, 45), (40, 48)));

        Assert.Equal(LagStatus.Ok, result.Status);
    }

    [Fact]
    public void Lag_in_time_is_lag_over_the_consume_rate()
    {
        // 10 messages per second consumed, 50 behind: five seconds.
        var window = Samples((0, 100), (10, 100), (20, 100), (30, 100), (40, 100), (50, 100));

        Assert.Equal(TimeSpan.FromSeconds(5), ConsumerLagEvaluation.EstimateLagTime(window, window[^1].At));
    }

    [Fact]
    public void Without_progress_lag_in_time_is_the_time_since_the_last_advance()
    {
        var window = Samples((10, 100), (10, 100), (10, 100), (10, 100));

        Assert.Equal(TimeSpan.FromSeconds(13), ConsumerLagEvaluation.EstimateLagTime(window, window[^1].At.AddSeconds(10)));
    }

    [Fact]
    public void The_worst_partition_decides_the_group()
    {
        var status = ConsumerLagEvaluation.GroupStatus(
        [
            new PartitionLag(LagStatus.Ok, 0, TimeSpan.Zero, ""),
            new PartitionLag(LagStatus.Stall, 5, null, ""),
            new PartitionLag(LagStatus.Warn, 5, null, ""),
        ]);

        Assert.Equal(LagStatus.Stall, status);
    }
}
