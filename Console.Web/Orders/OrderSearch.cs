using System.Globalization;
using Microsoft.AspNetCore.WebUtilities;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Sla;

namespace OrderFlow.Web.Orders;

/// <summary>
/// An order search as the page's URL and the JSON API carry it: every filter and the sort in the query string, so a view
/// can be bookmarked or pasted into a ticket.
/// </summary>
public sealed record OrderSearch
{
    public static readonly string[] Statuses = [.. OrderStatusNames.All];

    public static readonly string[] SlaStates = [.. SlaStateNames.All];

    public static readonly string[] Sorts = ["newest", "oldest"];

    /// <summary>Order id, exact or a prefix of it (case-sensitive, as ids are).</summary>
    public string? Search { get; init; }

    public string? Status { get; init; }

    /// <summary>In-flight orders in this SLA state.</summary>
    public string? Sla { get; init; }

    /// <summary>In-flight orders waiting for this step.</summary>
    public string? Step { get; init; }

    /// <summary>An open failure (a failed step not yet followed by its success).</summary>
    public bool Failure { get; init; }

    /// <summary>At least one dead letter.</summary>
    public bool DeadLetter { get; init; }

    /// <summary>At least one flagged event.</summary>
    public bool Flagged { get; init; }

    /// <summary>First seen at or after.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>First seen before.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>newest (first seen, latest first) or oldest.</summary>
    public string Sort { get; init; } = "newest";

    public bool IsEmpty => this == new OrderSearch();

    /// <summary>An id search lists its matches by id (what the id index reads in order); otherwise by when first seen.</summary>
    public string EffectiveSort => Search is not null ? "id" : Sort;

    /// <summary>Why the search cannot run, or null: a status or SLA state outside the lists, a time range the wrong way round.</summary>
    public string? Problem() =>
        Status is { Length: > 0 } s && !Statuses.Contains(s) ? $"status must be one of {string.Join(", ", Statuses)}"
        : Sla is { Length: > 0 } l && !SlaStates.Contains(l) ? $"sla must be one of {string.Join(", ", SlaStates)}"
        : !Sorts.Contains(Sort) ? $"sort must be one of {string.Join(", ", Sorts)}"
        : From is { } f && To is { } t && f >= t ? "from must be before to"
        : null;

    /// <summary>The search from a query string; the old "status=at-risk" (an SLA state as status) still reads as sla=at-risk.</summary>
    public static OrderSearch FromQuery(IReadOnlyDictionary<string, string?> query)
    {
        string? Get(string key) => query.TryGetValue(key, out var v) && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;
        var status = Get("status");
        var sla = Get("sla");
        if (status is not null && SlaStates.Contains(status))
        {
            sla ??= status;
            status = null;
        }

        return new OrderSearch
        {
            Search = Get("search"),
            Status = status,
            Sla = sla,
            Step = Get("step"),
            Failure = Get("failure") == "true",
            DeadLetter = Get("deadLetter") == "true",
            Flagged = Get("flagged") == "true",
            From = Time(Get("from")),
            To = Time(Get("to")),
            Sort = Get("sort") ?? "newest",
        };
    }

    public static OrderSearch FromUri(string uri)
    {
        var query = QueryHelpers.ParseQuery(new Uri(uri).Query);
        return FromQuery(query.ToDictionary(kv => kv.Key, kv => (string?)kv.Value.ToString()));
    }

    /// <summary>The query string for this search (without defaults), plus any extra parameters such as the selection.</summary>
    public string ToQuery(params (string Key, string? Value)[] extra)
    {
        var parts = new List<(string, string?)>
        {
            ("search", Search), ("status", Status), ("sla", Sla), ("step", Step),
            ("failure", Failure ? "true" : null), ("deadLetter", DeadLetter ? "true" : null), ("flagged", Flagged ? "true" : null),
            ("from", From?.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)),
            ("to", To?.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)),
            ("sort", Sort == "newest" ? null : Sort),
        };
        parts.AddRange(extra);
        var query = string.Join("&", parts.Where(p => !string.IsNullOrEmpty(p.Item2)).Select(p => $"{p.Item1}={Uri.EscapeDataString(p.Item2!)}"));
        return query.Length == 0 ? "" : "?" + query;
    }

    private static DateTimeOffset? Time(string? text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;
}

/// <summary>Where the next page of a search starts: after this order in the search's sort (keyset paging).</summary>
public sealed record OrderCursor(DateTimeOffset FirstSeenAt, string OrderId)
{
    public override string ToString() => FirstSeenAt.UtcTicks.ToString(CultureInfo.InvariantCulture) + "_" + OrderId;

    public static OrderCursor? Parse(string? text)
    {
        if (text is null || text.IndexOf('_', StringComparison.Ordinal) is var i && i <= 0 || !long.TryParse(text[..i], CultureInfo.InvariantCulture, out var ticks))
        {
            return null;
        }

        return new OrderCursor(new DateTimeOffset(ticks, TimeSpan.Zero), text[(i + 1)..]);
    }
}
