using OrderFlow.Domain.Reports;
using OrderFlow.Web.Reports;

namespace OrderFlow.ComponentTests;

/// <summary>The expiry chart's periods: every day or ISO week of the range, so a day without endings shows as a gap.</summary>
public sealed class ReportPeriodsTests
{
    private static readonly DateTimeOffset Wednesday = new(2026, 11, 18, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Every_day_of_the_range_from_its_first_to_the_day_before_to()
    {
        var days = new ReportFilter(Wednesday, Wednesday.AddDays(4), ReportBucket.Day, null).EveryPeriod();

        Assert.Equal([Wednesday, Wednesday.AddDays(1), Wednesday.AddDays(2), Wednesday.AddDays(3)], days);
    }

    [Fact]
    public void Weeks_start_on_the_monday_of_the_first_day_as_postgresql_counts_them()
    {
        // 18 Nov 2026 is a Wednesday: its week began on Monday 16 Nov; the range ends before Monday 30 Nov.
        var weeks = new ReportFilter(Wednesday, Wednesday.AddDays(12), ReportBucket.Week, null).EveryPeriod();

        Assert.Equal([Wednesday.AddDays(-2), Wednesday.AddDays(5)], weeks);
    }

    [Fact]
    public void A_long_range_keeps_its_latest_periods()
    {
        var days = new ReportFilter(Wednesday, Wednesday.AddDays(3650), ReportBucket.Day, null).EveryPeriod();

        Assert.Equal(400, days.Count);
        Assert.Equal(Wednesday.AddDays(3649), days[^1]);
        Assert.Equal(Wednesday.AddDays(3250), days[0]);
    }
}
