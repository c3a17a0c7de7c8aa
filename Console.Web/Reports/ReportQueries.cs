using System.Globalization;
using System.Text;
using Npgsql;
using OrderFlow.Domain.Reports;

namespace OrderFlow.Web.Reports;

/// <summary>A report's filters, read from and written to the URL (page, API and CSV alike). Times are UTC; <c>To</c> is exclusive.</summary>
public sealed record ReportFilter(
    DateTimeOffset From, DateTimeOffset To, [property: System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<ReportBucket>))] ReportBucket Bucket, string? Step)
{
    public static ReportFilter Default(DateTimeOffset now)
    {
        var today = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        return new ReportFilter(today.AddDays(-29), today.AddDays(1), ReportBucket.Day, null);
    }

    /// <summary>From query values (from, to as yyyy-MM-dd; bucket day|week; step); what is missing or unreadable keeps its default.</summary>
    public static ReportFilter Parse(Func<string, string?> query, DateTimeOffset now)
    {
        var d = Default(now);
        static DateTimeOffset? Date(string? s) => DateTime.TryParseExact(s, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? new DateTimeOffset(t, TimeSpan.Zero) : null;
        var from = Date(query("from")) ?? d.From;
        var to = Date(query("to"))?.AddDays(1) ?? d.To;
        return new ReportFilter(from, to > from ? to : from.AddDays(1), query("bucket") == "week" ? ReportBucket.Week : ReportBucket.Day,
            string.IsNullOrWhiteSpace(query("step")) ? null : query("step")!.Trim());
    }

    /// <summary>
    /// The start of every period of the range (each day, or each ISO week from the one <see cref="From"/> falls in), at
    /// most the last <paramref name="max"/>: a chart over these shows a day without endings as a gap, not its neighbours
    /// side by side.
    /// </summary>
    public IReadOnlyList<DateTimeOffset> EveryPeriod(int max = 400)
    {
        var first = Bucket == ReportBucket.Week ? From.AddDays(-(((int)From.DayOfWeek + 6) % 7)) : From;
        var step = Bucket == ReportBucket.Week ? 7 : 1;
        var count = (int)Math.Ceiling((To - first).TotalDays / step);
        return Enumerable.Range(Math.Max(0, count - max), Math.Min(count, max)).Select(i => first.AddDays(i * step)).ToList();
    }

    /// <summary>The query string (to is shown inclusive).</summary>
    public string ToQuery() =>
        $"from={From:yyyy-MM-dd}&to={To.AddDays(-1):yyyy-MM-dd}&bucket={(Bucket == ReportBucket.Week ? "week" : "day")}" + (Step is null ? "" : "&step=" + Uri.EscapeDataString(Step));
}

/// <summary>Orders that ended in one period: how many, how many expired and by whom.</summary>
public sealed record ExpiryPeriod(DateTimeOffset Period, long Ended, long Expired, long BySlaWatcher, long ByOperator, long ByOther)
{
    public double? Rate => ReportArithmetic.Rate(Expired, Ended);
}

/// <summary>Expired orders by the step whose deadline was breached first (or "no breach recorded") and by who expired them.</summary>
public sealed record ExpiryByStep(string Step, string Reason, long Orders);

public sealed record ExpiryReport(ReportFilter Filter, IReadOnlyList<ExpiryPeriod> Periods, IReadOnlyList<ExpiryByStep> ByStep);

/// <summary>
/// The business reports, computed by PostgreSQL over the read model. The expiry report reads ended_per_day, counts kept by
/// triggers as events arrive (migration OrderEndings, decision 0028): each order counts once, by its earliest applied
/// terminal event (a duplicate, a redelivery or a second terminal event arriving late counts nothing; a late event lands
/// in the period of its own time) — the rule of <see cref="ReportArithmetic.CountEnded"/> — so a month of millions of
/// orders is a few hundred rows. The outreach funnel reads only outreach events through a partial index.
/// </summary>
public sealed class ReportQueries(NpgsqlDataSource dataSource)
{
    public const string NoBreach = "no breach recorded";

    // The range's days (the filter's bounds are UTC midnights), one step's breaches or all.
    private const string Days =
        """
        from ended_per_day
        where day >= ($1 at time zone 'UTC')::date and day < ($2 at time zone 'UTC')::date and ($3::text is null or breached_step = $3)
        """;

    public async Task<ExpiryReport> ExpiryAsync(ReportFilter filter, CancellationToken cancellationToken = default)
    {
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(Command(filter, $"""
            select date_trunc('{(filter.Bucket == ReportBucket.Week ? "week" : "day")}', day::timestamp) at time zone 'UTC',
                   sum(orders)::bigint, coalesce(sum(orders) filter (where step = 'order-expired'), 0)::bigint,
                   coalesce(sum(orders) filter (where step = 'order-expired' and reason = 'sla-watcher'), 0)::bigint,
                   coalesce(sum(orders) filter (where step = 'order-expired' and reason = 'operator'), 0)::bigint,
                   coalesce(sum(orders) filter (where step = 'order-expired' and reason = 'other'), 0)::bigint
            {Days}
            group by 1 having sum(orders) <> 0 order by 1
            """));
        batch.BatchCommands.Add(Command(filter, $"""
            select breached_step, reason, sum(orders)::bigint
            {Days} and step = 'order-expired'
            group by 1, 2 having sum(orders) <> 0 order by 3 desc, 1, 2
            """));
        await using var r = await batch.ExecuteReaderAsync(cancellationToken);
        var periods = new List<ExpiryPeriod>();
        while (await r.ReadAsync(cancellationToken))
        {
            periods.Add(new ExpiryPeriod(new DateTimeOffset(DateTime.SpecifyKind(r.GetDateTime(0), DateTimeKind.Utc)), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5)));
        }

        await r.NextResultAsync(cancellationToken);
        var byStep = new List<ExpiryByStep>();
        while (await r.ReadAsync(cancellationToken))
        {
            byStep.Add(new ExpiryByStep(r.GetString(0), r.GetString(1), r.GetInt64(2)));
        }

        return new ExpiryReport(filter, periods, byStep);
    }

    /// <summary>
    /// The payment-retry outreach funnel over the orders an outreach was requested for in the range: by an operator from
    /// this console (an accepted PaymentRetryOutreach in the audit trail) or by anyone whose request the payment service
    /// answered (its retried payment carries the request's <c>outreachCommandId</c>). Paid: a retry succeeded; failed again:
    /// retried and every retry failed; then completed / expired. A request not answered yet counts only as requested.
    /// </summary>
    public async Task<OutreachFunnel> OutreachAsync(ReportFilter filter, CancellationToken cancellationToken = default)
    {
        await using var command = Command(filter,
            """
            with requested as (
                select a.order_id from action_audit a
                where a.action = 'PaymentRetryOutreach' and a.result = 'accepted' and a.order_id is not null and a.at >= $1 and a.at < $2
                union
                select e.order_id from order_events e
                where e.attributes ? 'outreachCommandId' and e.occurred_at >= $1 and e.occurred_at < $2 and not ('duplicate' = any(e.flags))
            ), retried as (
                select e.order_id, bool_or(e.outcome = 'succeeded') as paid
                from order_events e
                where e.order_id in (select order_id from requested) and e.attributes ? 'outreachCommandId' and not ('duplicate' = any(e.flags))
                group by e.order_id
            ), filtered as (
                select q.order_id, r.paid, o.status from requested q join orders o using (order_id) left join retried r using (order_id)
                where $3::text is null or exists (select 1 from sla_breaches b where b.order_id = q.order_id and b.scope = $3)
            )
            select count(*), count(*) filter (where paid), count(*) filter (where status = 'completed'),
                   count(*) filter (where paid = false), count(*) filter (where status = 'expired')
            from filtered
            """).AsCommand(dataSource);
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        await r.ReadAsync(cancellationToken);
        return new OutreachFunnel(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4));
    }

    private static NpgsqlBatchCommand Command(ReportFilter filter, string sql)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = filter.From });
        command.Parameters.Add(new NpgsqlParameter { Value = filter.To });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Step ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        return command;
    }
}

internal static class BatchCommandExtensions
{
    public static NpgsqlCommand AsCommand(this NpgsqlBatchCommand batchCommand, NpgsqlDataSource dataSource)
    {
        var command = dataSource.CreateCommand(batchCommand.CommandText);
        foreach (NpgsqlParameter p in batchCommand.Parameters)
        {
            command.Parameters.Add(p.Clone());
        }

        return command;
    }
}

/// <summary>The report tables as CSV (RFC 4180: comma, CRLF, quotes doubled), exactly the rows the page shows.</summary>
public static class ReportCsv
{
    public static string Expiry(ExpiryReport report) => Write(
        ["period", "ended", "expired", "expiry_rate", "by_sla_watcher", "by_operator", "by_other"],
        report.Periods.Select(p => new[] { p.Period.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), N(p.Ended), N(p.Expired), Rate(p.Rate), N(p.BySlaWatcher), N(p.ByOperator), N(p.ByOther) }));

    public static string ExpiryByStep(ExpiryReport report) => Write(
        ["step", "reason", "orders"], report.ByStep.Select(s => new[] { s.Step, s.Reason, N(s.Orders) }));

    public static string Outreach(OutreachFunnel f) => Write(
        ["stage", "orders", "of_requested"],
        [["requested", N(f.Requested), Rate(1)], ["paid", N(f.Paid), Rate(f.PaidRate)], ["completed", N(f.Completed), Rate(f.CompletedRate)],
         ["failed_again", N(f.FailedAgain), Rate(ReportArithmetic.Rate(f.FailedAgain, f.Requested))], ["expired", N(f.Expired), Rate(ReportArithmetic.Rate(f.Expired, f.Requested))]]);

    /// <summary>Rates as the page shows them: a percentage with one decimal, empty when there is no rate.</summary>
    public static string Rate(double? rate) => rate is { } r ? (r * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%" : "";

    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Write(string[] header, IEnumerable<string[]> rows)
    {
        var sb = new StringBuilder();
        foreach (var row in rows.Prepend(header))
        {
            sb.Append(string.Join(',', row.Select(Field))).Append("\r\n");
        }

        return sb.ToString();
    }

    private static string Field(string value) =>
        value.IndexOfAny([',', '"', '\r', '\n']) >= 0 || value.StartsWith('=') || value.StartsWith('+') || value.StartsWith('-') || value.StartsWith('@')
            ? "\"" + (value is ['=' or '+' or '-' or '@', ..] ? "'" : "") + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : value;
}
