using OrderFlow.Domain.Actions;
using OrderFlow.Web.Actions;

namespace OrderFlow.Web.Bulk;

/// <summary>Bulk jobs over HTTP (docs/api.md, Bulk jobs): OpsLead only, checked by policy here and again in <see cref="BulkJobStore"/>.</summary>
public static class BulkApi
{
    public sealed record JobCommandBody(Guid ActionId = default);

    public static WebApplicationBuilder AddBulkJobs(this WebApplicationBuilder builder)
    {
        Platform.Hosting.PlatformServices.AddValidatedOptions<BulkOptions>(builder, BulkOptions.Section);
        builder.Services.AddSingleton<BulkJobStore>();
        builder.Services.AddHostedService<BulkJobRunner>();
        return builder;
    }

    public static IEndpointRouteBuilder MapBulkApi(this IEndpointRouteBuilder endpoints)
    {
        var jobs = endpoints.MapGroup("/api/bulk-jobs").WithTags("Bulk jobs");
        jobs.MapPost("/replay", (HttpContext http, BulkJobStore store, BulkJobRequest body, CancellationToken ct) =>
                Respond(store.CreateAsync(http.User, BulkKind.Replay, body, ct), created: true))
            .RequireAuthorization(ActionsApi.Policy(OperatorAction.BulkReplay))
            .WithSummary("Create a bulk replay job: its dry run (nothing runs until start)")
            .Produces<BulkOutcome>(StatusCodes.Status201Created).Produces<BulkOutcome>(StatusCodes.Status409Conflict);
        jobs.MapPost("/purge", (HttpContext http, BulkJobStore store, BulkJobRequest body, CancellationToken ct) =>
                Respond(store.CreateAsync(http.User, BulkKind.Purge, body, ct), created: true))
            .RequireAuthorization(ActionsApi.Policy(OperatorAction.BulkPurge))
            .WithSummary("Create a bulk purge job: its dry run (start asks for a second OpsLead's approval)")
            .Produces<BulkOutcome>(StatusCodes.Status201Created).Produces<BulkOutcome>(StatusCodes.Status409Conflict);

        foreach (var command in Enum.GetValues<BulkCommand>())
        {
            var policy = ActionsApi.Policy(command == BulkCommand.Approve ? OperatorAction.ApproveBulkPurge : OperatorAction.BulkReplay);
            jobs.MapPost($"/{{id:guid}}/{command.ToString().ToLowerInvariant()}", (HttpContext http, BulkJobStore store, Guid id, CancellationToken ct) =>
                    Respond(store.ControlAsync(http.User, id, command, ct), created: false))
                .RequireAuthorization(policy)
                .WithSummary($"{command} a bulk job")
                .Produces<BulkOutcome>().Produces<BulkOutcome>(StatusCodes.Status409Conflict).Produces<BulkOutcome>(StatusCodes.Status404NotFound);
        }

        jobs.MapGet("", async (BulkJobStore store, int? take, CancellationToken ct) => Results.Ok(await store.ListAsync(take ?? 50, ct)))
            .RequireAuthorization(ActionsApi.Policy(OperatorAction.BulkReplay))
            .WithSummary("Bulk jobs, newest first").Produces<IReadOnlyList<BulkJobView>>();
        jobs.MapGet("/{id:guid}", async (BulkJobStore store, Guid id, string? state, int? take, CancellationToken ct) =>
                await store.FindAsync(id, ct) is { } job
                    ? Results.Ok(new BulkJobWithResults(job, await store.ResultsAsync(id, state, take ?? BulkJobStore.MaxResults, ct)))
                    : Results.Problem($"no bulk job {id}", statusCode: StatusCodes.Status404NotFound))
            .RequireAuthorization(ActionsApi.Policy(OperatorAction.BulkReplay))
            .WithSummary("A bulk job with its per-record results (state = pending | done | refused)").Produces<BulkJobWithResults>();
        return endpoints;
    }

    public sealed record BulkJobWithResults(BulkJobView Job, IReadOnlyList<BulkRecordResult> Results);

    /// <summary>201 created / 200 (a repeat, or a command), 400 bad request, 403 not permitted, 404 no such job or dead letter, 409 refused by a rule.</summary>
    private static async Task<IResult> Respond(Task<BulkOutcome> outcome, bool created)
    {
        var o = await outcome;
        return o switch
        {
            { Accepted: true } when created && o.Message.StartsWith("dry run", StringComparison.Ordinal) => Results.Created($"/api/bulk-jobs/{o.Job!.Id:D}", o),
            { Accepted: true } => Results.Ok(o),
            { NotFound: true } => Results.Json(o, statusCode: StatusCodes.Status404NotFound),
            { Refusal: RefusalCode.NotPermitted } => Results.Json(o, statusCode: StatusCodes.Status403Forbidden),
            { Refusal: null } => Results.Json(o, statusCode: StatusCodes.Status400BadRequest),
            _ => Results.Json(o, statusCode: StatusCodes.Status409Conflict),
        };
    }
}
