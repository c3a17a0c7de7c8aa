using System.Security.Claims;
using OrderFlow.Domain.Actions;

namespace OrderFlow.Web.Auth;

/// <summary>The signed-in user as the deciders see them: a name and one role (the highest the claims give).</summary>
public static class Operators
{
    public static Operator? From(ClaimsPrincipal? user)
    {
        if (user?.Identity is not { IsAuthenticated: true } || string.IsNullOrWhiteSpace(user.Identity.Name))
        {
            return null;
        }

        OperatorRole? role = null;
        foreach (var candidate in new[] { OperatorRole.OpsLead, OperatorRole.SupportAgent, OperatorRole.BusinessUser })
        {
            if (user.IsInRole(candidate.ToString()))
            {
                role = candidate;
                break;
            }
        }

        return role is { } r ? new Operator(user.Identity.Name, r) : null;
    }

    /// <summary>Why this user cannot take this action, or null when they can: the text a disabled button shows.</summary>
    public static string? WhyNot(ClaimsPrincipal? user, OperatorAction action) =>
        From(user) switch
        {
            null => "sign in with a role to act",
            { } op when !ActionPermissions.Allows(op.Role, action) => $"your role {op.Role} may not {Describe(action)}",
            _ => null,
        };

    public static string Describe(OperatorAction action) => action switch
    {
        OperatorAction.Replay => "replay a dead letter",
        OperatorAction.BulkReplay => "replay in bulk",
        OperatorAction.Purge => "purge a dead letter",
        OperatorAction.BulkPurge => "purge in bulk",
        OperatorAction.ApproveBulkPurge => "approve a bulk purge",
        OperatorAction.Skip => "skip a dead letter",
        OperatorAction.PaymentRetryOutreach => "request payment-retry outreach",
        OperatorAction.ManualExpiry => "expire an order",
        OperatorAction.DismissQuarantined => "dismiss quarantined records",
        _ => action.ToString(),
    };
}
