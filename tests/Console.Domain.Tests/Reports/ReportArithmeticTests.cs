using OrderFlow.Domain.Reports;

namespace OrderFlow.Domain.Tests.Reports;

public sealed class ReportArithmeticTests
{
    private static readonly DateTimeOffset Mon = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_same_expiry_delivered_twice_counts_once()
    {
        var rows = ReportArithmetic.CountEnded(
            [("ORD-1", "order-expired", Mon), ("ORD-1", "order-expired", Mon), ("ORD-2", "order-completed", Mon)], ReportBucket.Day);

        Assert.Equal([(Mon.Date, "order-completed", 1L), (Mon.Date, "order-expired", 1L)],
            rows.Select(r => (r.Period.UtcDateTime, r.Outcome, r.Orders)).ToArray());
    }

    [Fact]
    public void A_late_event_lands_in_the_period_of_its_own_time_and_the_earliest_end_wins()
    {
        var rows = ReportArithmetic.CountEnded(
            [("ORD-1", "order-expired", Mon.AddDays(2)), ("ORD-1", "order-completed", Mon.AddHours(1)), ("ORD-2", "order-expired", Mon.AddDays(-1))],
            ReportBucket.Day);

        Assert.Equal(2, rows.Count);
        Assert.Contains(rows, r => r.Period == new DateTimeOffset(Mon.Date, TimeSpan.Zero) && r.Outcome == "order-completed" && r.Orders == 1);
        Assert.Contains(rows, r => r.Period == new DateTimeOffset(Mon.Date.AddDays(-1), TimeSpan.Zero) && r.Outcome == "order-expired" && r.Orders == 1);
        Assert.DoesNotContain(rows, r => r.Period == new DateTimeOffset(Mon.Date.AddDays(2), TimeSpan.Zero));
    }

    [Fact]
    public void Weeks_start_on_monday_like_date_trunc()
    {
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero), ReportArithmetic.BucketStart(Mon.AddDays(6).AddHours(13), ReportBucket.Week));
        Assert.Equal(new DateTimeOffset(2026, 11, 16, 0, 0, 0, TimeSpan.Zero), ReportArithmetic.BucketStart(Mon.AddMinutes(-601), ReportBucket.Week));
    }

    [Fact]
    public void A_rate_without_ended_orders_is_no_rate()
    {
        Assert.Null(ReportArithmetic.Rate(0, 0));
        Assert.Equal(0.25, ReportArithmetic.Rate(1, 4));
    }

    [Fact]
    public void Outreach_conversion_is_measured_against_requests_and_payments()
    {
        var funnel = new OutreachFunnel(Requested: 10, Paid: 6, Completed: 3, FailedAgain: 3, Expired: 1);

        Assert.Equal(0.6, funnel.PaidRate);
        Assert.Equal(0.3, funnel.CompletedRate);
        Assert.Equal(0.5, funnel.PaidToCompleted);
        Assert.Null(new OutreachFunnel(0, 0, 0, 0, 0).PaidRate);
    }

    [Theory]
    [InlineData("order-flow-console", "order-flow-console", false, ExpiryReasons.SlaWatcher)]
    [InlineData("order-service", "order-service", true, ExpiryReasons.Operator)]
    [InlineData("order-service", null, false, ExpiryReasons.Other)]
    public void Expiries_are_classified_by_who_gave_the_order_up(string service, string? expiredBy, bool requested, string reason) =>
        Assert.Equal(reason, ExpiryReasons.Classify(service, expiredBy, requested));
}
