namespace OrderFlow.Domain.Reports;

/// <summary>Who gave an order up: the console's SLA watcher, an operator (through an expiry request), or anyone else.</summary>
public static class ExpiryReasons
{
    public const string SlaWatcher = "sla-watcher";
    public const string Operator = "operator";
    public const string Other = "other";

    public static readonly IReadOnlyList<string> All = [SlaWatcher, Operator, Other];

    /// <summary>From the <c>order-expired</c> event: its service, and whether its attributes name who requested it (an operator).</summary>
    public static string Classify(string service, string? expiredBy, bool requestedByOperator) =>
        requestedByOperator ? Operator
        : expiredBy == "order-flow-console" || service == "order-flow-console" ? SlaWatcher
        : Other;
}

/// <summary>Report periods.</summary>
public enum ReportBucket
{
    Day,
    Week,
}

public static class ReportArithmetic
{
    /// <summary>Share of ended orders that expired; null when none ended (no rate, rather than 0 %).</summary>
    public static double? Rate(long part, long whole) => whole <= 0 ? null : Math.Clamp(part / (double)whole, 0, 1);

    /// <summary>Start of the period holding <paramref name="at"/> (UTC days; ISO weeks start Monday), as PostgreSQL's date_trunc does.</summary>
    public static DateTimeOffset BucketStart(DateTimeOffset at, ReportBucket bucket)
    {
        var day = new DateTimeOffset(at.UtcDateTime.Date, TimeSpan.Zero);
        return bucket == ReportBucket.Day ? day : day.AddDays(-(((int)day.DayOfWeek + 6) % 7));
    }

    /// <summary>
    /// The facts a report counts, one per order: the earliest applied terminal event of each order (a duplicate, a
    /// redelivered record, or a second terminal event arriving late does not count again, and a late event lands in
    /// the period of its own time). The SQL of the reports counts the same way; this is the reference.
    /// </summary>
    public static IReadOnlyList<(DateTimeOffset Period, string Outcome, long Orders)> CountEnded(
        IEnumerable<(string OrderId, string TerminalStep, DateTimeOffset OccurredAt)> terminalEvents, ReportBucket bucket) =>
        terminalEvents
            .GroupBy(e => e.OrderId, StringComparer.Ordinal)
            .Select(g => g.OrderBy(e => e.OccurredAt).First())
            .GroupBy(e => (Period: BucketStart(e.OccurredAt, bucket), e.TerminalStep))
            .OrderBy(g => g.Key.Period).ThenBy(g => g.Key.TerminalStep, StringComparer.Ordinal)
            .Select(g => (g.Key.Period, g.Key.TerminalStep, (long)g.Count()))
            .ToList();
}

/// <summary>The payment-retry outreach funnel: requested → paid → completed; or failed again / expired.</summary>
public sealed record OutreachFunnel(long Requested, long Paid, long Completed, long FailedAgain, long Expired)
{
    public double? PaidRate => ReportArithmetic.Rate(Paid, Requested);

    public double? CompletedRate => ReportArithmetic.Rate(Completed, Requested);

    /// <summary>Completed of those that paid.</summary>
    public double? PaidToCompleted => ReportArithmetic.Rate(Completed, Paid);
}
