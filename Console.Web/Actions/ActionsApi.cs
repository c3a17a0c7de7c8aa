using Microsoft.AspNetCore.Authorization;
using OrderFlow.Domain.Actions;

namespace OrderFlow.Web.Actions;

/// <summary>The operator actions over HTTP (docs/api.md, Actions): each endpoint requires the role the action table gives.</summary>
public static class ActionsApi
{
    public sealed record DeadLetterActionBody(Guid ActionId, string? Reason, bool Force = false, bool Confirmed = false);

    public sealed record OrderActionBody(Guid ActionId, string? Reason, string? Channel = null);

    public sealed record QuarantineDismissBody(Guid ActionId, string? Cause, string? Reason);

    /// <summary>The policy name of an action: a user whose role the table allows it.</summary>
    public static string Policy(OperatorAction action) => "action:" + action;

    public static WebApplicationBuilder AddOperatorActions(this WebApplicationBuilder builder)
    {
        Platform.Hosting.PlatformServices.AddValidatedOptions<ActionOptions>(builder, ActionOptions.Section);
        builder.Services.AddSingleton<OperatorActions>();
        builder.Services.AddSingleton<ActionQueries>();
        builder.Services.Configure<AuthorizationOptions>(o =>
        {
            foreach (var action in Enum.GetValues<OperatorAction>())
            {
                var roles = ActionPermissions.Table.Where(r => r.Value.Contains(action)).Select(r => r.Key.ToString()).ToArray();
                o.AddPolicy(Policy(action), p => p.RequireAuthenticatedUser().RequireAssertion(c => roles.Any(c.User.IsInRole)));
            }
        });
        return builder;
    }

    public static IEndpointRouteBuilder MapActionsApi(this IEndpointRouteBuilder endpoints)
    {
        var deadLetters = endpoints.MapGroup("/api/dead-letters/{id:long}");
        deadLetters.MapPost("/replay", (HttpContext http, OperatorActions actions, long id, DeadLetterActionBody body, CancellationToken ct) =>
            Respond(actions.ReplayAsync(http.User, body.ActionId, id, body.Reason, body.Force, body.Confirmed, ct))).RequireAuthorization(Policy(OperatorAction.Replay));
        deadLetters.MapPost("/purge", (HttpContext http, OperatorActions actions, long id, DeadLetterActionBody body, CancellationToken ct) =>
            Respond(actions.PurgeAsync(http.User, body.ActionId, id, body.Reason, ct))).RequireAuthorization(Policy(OperatorAction.Purge));
        deadLetters.MapPost("/skip", (HttpContext http, OperatorActions actions, long id, DeadLetterActionBody body, CancellationToken ct) =>
            Respond(actions.SkipAsync(http.User, body.ActionId, id, body.Reason, ct))).RequireAuthorization(Policy(OperatorAction.Skip));

        var orders = endpoints.MapGroup("/api/orders/{orderId}");
        orders.MapPost("/outreach", (HttpContext http, OperatorActions actions, string orderId, OrderActionBody body, CancellationToken ct) =>
            Respond(actions.OutreachAsync(http.User, body.ActionId, orderId, body.Channel ?? "", body.Reason, ct))).RequireAuthorization(Policy(OperatorAction.PaymentRetryOutreach));
        orders.MapPost("/expiry", (HttpContext http, OperatorActions actions, string orderId, OrderActionBody body, CancellationToken ct) =>
            Respond(actions.ExpireAsync(http.User, body.ActionId, orderId, body.Reason, ct))).RequireAuthorization(Policy(OperatorAction.ManualExpiry));

        endpoints.MapPost("/api/quarantine/dismiss", (HttpContext http, OperatorActions actions, QuarantineDismissBody body, CancellationToken ct) =>
            string.IsNullOrWhiteSpace(body.Cause)
                ? Task.FromResult(Results.Problem("cause is required: a cause as /api/quarantine/causes gives it", statusCode: StatusCodes.Status400BadRequest))
                : Respond(actions.DismissQuarantinedAsync(http.User, body.ActionId, body.Cause, body.Reason, ct))).RequireAuthorization(Policy(OperatorAction.DismissQuarantined));

        endpoints.MapGet("/api/audit", async (ActionQueries queries, string? actor, string? action, string? target, int? take, CancellationToken ct) =>
            Results.Ok(await queries.AuditAsync(new AuditFilter(actor, action, target), take ?? 200, ct)));
        endpoints.MapGet("/audit.csv", async (ActionQueries queries, string? actor, string? action, string? target, CancellationToken ct) =>
            Results.Text(ActionQueries.ToCsv(await queries.AuditAsync(new AuditFilter(actor, action, target), ActionQueries.MaxRows, ct)), "text/csv; charset=utf-8"));
        endpoints.MapGet("/api/actions/{actionId:guid}", async (ActionQueries queries, Guid actionId, CancellationToken ct) =>
            await queries.FindAsync(actionId, ct) is { } entry ? Results.Ok(entry) : Results.Problem($"no action {actionId}", statusCode: StatusCodes.Status404NotFound));
        return endpoints;
    }

    /// <summary>202 accepted (200 for a repeat of an accepted action id), 403 not permitted, 404 no such target, 409 refused by a rule.</summary>
    private static async Task<IResult> Respond(Task<ActionOutcome> outcome)
    {
        var o = await outcome;
        return o switch
        {
            { Accepted: true, Duplicate: true } => Results.Ok(o),
            { Accepted: true } => Results.Accepted($"/api/actions/{o.ActionId:D}", o),
            { Refusal: RefusalCode.NotPermitted } => Results.Json(o, statusCode: StatusCodes.Status403Forbidden),
            { Refusal: null } when o.ActionId == Guid.Empty => Results.Json(o, statusCode: StatusCodes.Status400BadRequest),
            { Refusal: null } => Results.Json(o, statusCode: StatusCodes.Status404NotFound),
            _ => Results.Json(o, statusCode: StatusCodes.Status409Conflict),
        };
    }
}
