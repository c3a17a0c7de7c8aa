using System.Security.Claims;

namespace OrderFlow.Web.Auth;

/// <summary>Who may read record contents (dead-letter and quarantined bytes): support agents and ops leads, never business users.</summary>
public static class PayloadAccess
{
    public const string Policy = "read-payloads";

    public const string Refusal = "Your role may not read record contents: business users see dashboards and reports only.";

    public static bool Allows(ClaimsPrincipal? user) =>
        user is not null && (user.IsInRole("SupportAgent") || user.IsInRole("OpsLead"));
}
