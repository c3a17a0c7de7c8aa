using OrderFlow.Domain.Flow;

namespace OrderFlow.Domain.Tests.Flow;

public class MinuteWindowTests
{
    private static readonly DateTimeOffset Minute0 = new(2026, 12, 6, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_minute_under_way_counts_wholly_and_the_minute_the_window_starts_in_by_the_share_it_covers()
    {
        // Minutes 10:00 … 10:06, 60 events each; now 10:06:15, window 5 min: from 10:01:15.
        var minutes = Enumerable.Range(0, 7).Select(i => (Minute0.AddMinutes(i), 60L)).ToList();
        var now = Minute0.AddMinutes(6).AddSeconds(15);

        var sum = MinuteWindow.Sum(minutes, now, TimeSpan.FromMinutes(5));

        // 10:06 (60) + 10:02 … 10:05 (4 × 60) + three quarters of 10:01 (45); 10:00 is outside.
        Assert.Equal(60 + 240 + 45, sum);
    }

    [Fact]
    public void Minutes_outside_the_window_or_after_now_do_not_count()
    {
        var now = Minute0.AddMinutes(10);
        (DateTimeOffset, long)[] minutes = [(Minute0, 5), (Minute0.AddMinutes(4), 7), (Minute0.AddMinutes(11), 100)];

        Assert.Equal(0, MinuteWindow.Sum(minutes, now, TimeSpan.FromMinutes(5)));
        Assert.Equal(0, MinuteWindow.Sum([], now, TimeSpan.FromMinutes(5)));
    }
}
