using Microsoft.AspNetCore.Http.HttpResults;
using OrderFlow.Web.Lag;
using OrderFlow.Web.Reports;

namespace OrderFlow.Web.Flow;

/// <summary>
/// The ops-lead and business JSON API (docs/api.md) and the wallboard hub. Every endpoint is in the group
/// <see cref="MapViewsApi"/> returns, and the hub's builder is returned too, so both go under one authorization policy
/// with a single call each (<c>WebServices.MapWebEndpoints</c>: any signed-in role; record contents ask for more).
/// </summary>
public static class FlowApi
{
    public static (RouteGroupBuilder Api, HubEndpointConventionBuilder Hub) MapViewsApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api").WithTags("Ops and business views");
        api.MapGet("/flow", async (FlowQueries queries, CancellationToken ct) => TypedResults.Ok(await queries.SummaryAsync(ct)))
            .WithSummary("The flow dashboard's numbers: in-flight orders per step, throughput, step percentiles, problems per minute");
        api.MapGet("/lag", async (LagQueries queries, CancellationToken ct) => TypedResults.Ok(await queries.ListAsync(ct)))
            .WithSummary("Consumer lag per group and partition with status, reason, trend, drain rate and business impact");
        api.MapGet("/reports/expiry", async (HttpContext http, ReportQueries queries, TimeProvider clock, CancellationToken ct) =>
                TypedResults.Ok(await queries.ExpiryAsync(Filter(http, clock), ct)))
            .WithSummary("Expired orders per day or week, by breached step and by who expired them (query: from, to, bucket, step)");
        api.MapGet("/reports/outreach", async (HttpContext http, ReportQueries queries, TimeProvider clock, CancellationToken ct) =>
                TypedResults.Ok(await queries.OutreachAsync(Filter(http, clock), ct)))
            .WithSummary("The payment-retry outreach funnel (query: from, to, step)");
        api.MapGet("/reports/expiry.csv", async (HttpContext http, ReportQueries queries, TimeProvider clock, CancellationToken ct) =>
                Csv(ReportCsv.Expiry(await queries.ExpiryAsync(Filter(http, clock), ct)), "expiry.csv"))
            .WithSummary("The expiry table as CSV");
        api.MapGet("/reports/expiry-by-step.csv", async (HttpContext http, ReportQueries queries, TimeProvider clock, CancellationToken ct) =>
                Csv(ReportCsv.ExpiryByStep(await queries.ExpiryAsync(Filter(http, clock), ct)), "expiry-by-step.csv"))
            .WithSummary("Expired orders by breached step and reason, as CSV");
        api.MapGet("/reports/outreach.csv", async (HttpContext http, ReportQueries queries, TimeProvider clock, CancellationToken ct) =>
                Csv(ReportCsv.Outreach(await queries.OutreachAsync(Filter(http, clock), ct)), "outreach.csv"))
            .WithSummary("The outreach funnel as CSV");
        api.MapGet("/stuck", async (Stuck.StuckQueries queries, CancellationToken ct) => TypedResults.Ok(await queries.ListAsync(ct)))
            .WithSummary("In-flight orders at-risk or breached, grouped by the steps they wait for");
        api.MapGet("/dead-letters", async (DeadLetters.DeadLetterQueries queries, string? topic, string? service, string? error, string? order, string? status, string? cause, CancellationToken ct) =>
                TypedResults.Ok(await queries.ListAsync(new DeadLetters.DeadLetterFilter(topic, service, error, order, status, null), cause, ct)))
            .WithSummary("Dead letters, newest first (at most 200)");
        api.MapGet("/dead-letters/{id:long}", async Task<Results<Ok<DeadLetters.DeadLetterRecord>, ProblemHttpResult>> (DeadLetters.DeadLetterQueries queries, long id, CancellationToken ct) =>
                await queries.FindAsync(id, ct) is { } record ? TypedResults.Ok(record) : TypedResults.Problem($"no dead letter {id}", statusCode: 404))
            .WithSummary("One dead letter, byte for byte (key and value base64)").RequireAuthorization(Auth.PayloadAccess.Policy);
        api.MapGet("/quarantine", async Task<Results<Ok<IReadOnlyList<Quarantine.QuarantinedSummary>>, ProblemHttpResult>> (Quarantine.QuarantineQueries queries, string? topic, string? error, string? cause, int? limit, bool? includeDismissed, CancellationToken ct) =>
                limit is < 1 or > Quarantine.QuarantineQueries.MaxRows
                    ? TypedResults.Problem($"limit must be between 1 and {Quarantine.QuarantineQueries.MaxRows}", statusCode: 400)
                    : TypedResults.Ok(await queries.ListAsync(topic, error, cause, limit ?? Quarantine.QuarantineQueries.MaxRows, includeDismissed ?? false, ct)))
            .WithSummary("Open quarantined records (all with includeDismissed=true), newest first (at most 500)");
        api.MapGet("/quarantine/causes", async (Quarantine.QuarantineQueries queries, string? topic, string? error, bool? includeDismissed, CancellationToken ct) =>
                TypedResults.Ok(await queries.CausesAsync(topic, error, includeDismissed ?? false, ct)))
            .WithSummary("Open quarantined records (all with includeDismissed=true) grouped by cause (the error's shape), largest first");
        api.MapGet("/quarantine/{id:long}", async Task<Results<Ok<Quarantine.QuarantinedRecord>, ProblemHttpResult>> (Quarantine.QuarantineQueries queries, long id, CancellationToken ct) =>
                await queries.FindAsync(id, ct) is { } record ? TypedResults.Ok(record) : TypedResults.Problem($"no quarantined record {id}", statusCode: 404))
            .WithSummary("One quarantined record, byte for byte (key and value base64)").RequireAuthorization(Auth.PayloadAccess.Policy);
        var hub = endpoints.MapHub<FlowHub>(FlowHub.Path);
        return (api, hub);
    }

    private static ReportFilter Filter(HttpContext http, TimeProvider clock) =>
        ReportFilter.Parse(k => http.Request.Query.TryGetValue(k, out var v) ? v.ToString() : null, clock.GetUtcNow());

    private static IResult Csv(string csv, string name) =>
        TypedResults.File(System.Text.Encoding.UTF8.GetBytes(csv), "text/csv; charset=utf-8", name);
}
