namespace OrderFlow.Web.Freshness;

/// <summary>What the banner says about a snapshot, and how loudly. Pure, so the wording is tested without a database.</summary>
public static class FreshnessView
{
    public sealed record Line(bool Warning, string Text);

    public static Line Describe(FreshnessSnapshot s, DateTimeOffset now, TimeSpan behindWarning)
    {
        if (s.CheckedAt == DateTimeOffset.MinValue)
        {
            return new Line(false, "checking how fresh the data is…");
        }

        if (!s.PostgresReachable)
        {
            return new Line(true, $"PostgreSQL is unreachable ({s.PostgresError}): what you see may be out of date");
        }

        var problems = new List<string>();
        if (s.IngestReachable == false)
        {
            problems.Add($"Console.Ingest is not running ({s.IngestDetail}): nothing new reaches the read model");
        }
        else if (s.IngestReachable == true && s.IngestDetail is not null)
        {
            problems.Add("Console.Ingest reports a problem: " + s.IngestDetail);
        }
        else if (s.IngestReachable is null && (s.IngestLastSeen is not { } seen || now - seen > FreshnessMonitor.IngestSilence))
        {
            problems.Add(s.IngestLastSeen is { } last
                ? $"Console.Ingest has not reported for {Duration(now - last)}: it is stopped or cannot reach Kafka/PostgreSQL"
                : "Console.Ingest has not reported yet");
        }

        if (s.KafkaReachable == false)
        {
            problems.Add($"Kafka is unreachable from Console.Web ({s.KafkaDetail})");
        }

        var behind = s.BehindSeconds is { } b ? TimeSpan.FromSeconds(b) : TimeSpan.Zero;
        if (problems.Count == 0 && behind > behindWarning)
        {
            problems.Add($"the projection is {Duration(behind)} behind Kafka ({s.BehindMessages:N0} messages)");
        }

        var asOf = s.DataAsOf is { } at ? $"data as of {Ago(now - at)}" : "no data stored yet";
        var lag = s.BehindSeconds is { } sec ? $"ingest {sec:0} s behind" : s.BehindMessages is { } m ? $"ingest {m:N0} messages behind" : "ingest lag unknown";
        var text = $"{asOf} · {lag}";
        return problems.Count == 0 ? new Line(false, text) : new Line(true, string.Join("; ", problems) + " · " + text);
    }

    public static string Duration(TimeSpan t) =>
        t.TotalSeconds < 60 ? $"{Math.Max(0, (int)t.TotalSeconds)} s"
        : t.TotalMinutes < 60 ? $"{(int)t.TotalMinutes} min {t.Seconds} s"
        : t.TotalHours < 48 ? $"{(int)t.TotalHours} h {t.Minutes} min"
        : $"{(int)t.TotalDays} d {t.Hours} h";

    private static string Ago(TimeSpan t) => t < TimeSpan.FromSeconds(1) ? "now" : Duration(t) + " ago";
}
