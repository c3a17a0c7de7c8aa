using System.ComponentModel.DataAnnotations;
using OrderFlow.Domain.Actions;

namespace OrderFlow.Web.Auth;

/// <summary>
/// Section "Auth": who may sign in. Local users (the embedded default: appsettings.Development.json seeds one per role,
/// README "Demo users"), OpenID Connect when Auth:Oidc:Authority is set (roles from the role claim), and API keys for
/// the JSON API (header X-Api-Key), each with one role.
/// </summary>
public sealed class AuthOptions : IValidatableObject
{
    public const string Section = "Auth";

    public List<LocalUser> LocalUsers { get; set; } = [];

    public List<ApiKey> ApiKeys { get; set; } = [];

    public OidcSettings Oidc { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (LocalUsers.Count == 0 && string.IsNullOrWhiteSpace(Oidc.Authority))
        {
            yield return new ValidationResult("Auth: nobody can sign in — set Auth:Oidc:Authority (OpenID Connect) or Auth:LocalUsers (see README, Demo users)");
        }

        foreach (var user in LocalUsers.Where(u => string.IsNullOrWhiteSpace(u.User) || string.IsNullOrEmpty(u.Password)))
        {
            yield return new ValidationResult($"Auth:LocalUsers: user '{user.User}' needs a name and a password");
        }

        foreach (var key in ApiKeys.Where(k => string.IsNullOrWhiteSpace(k.Name) || (k.Key ?? "").Length < 16))
        {
            yield return new ValidationResult($"Auth:ApiKeys: key '{key.Name}' needs a name and a key of at least 16 characters");
        }

        if (!string.IsNullOrWhiteSpace(Oidc.Authority) && string.IsNullOrWhiteSpace(Oidc.ClientId))
        {
            yield return new ValidationResult("Auth:Oidc:ClientId is not set (Auth:Oidc:Authority is)");
        }
    }
}

public sealed class LocalUser
{
    public string User { get; set; } = "";

    public string Password { get; set; } = "";

    public OperatorRole Role { get; set; }
}

public sealed class ApiKey
{
    public string Name { get; set; } = "";

    public string Key { get; set; } = "";

    public OperatorRole Role { get; set; }
}

public sealed class OidcSettings
{
    public string? Authority { get; set; }

    public string? ClientId { get; set; }

    public string? ClientSecret { get; set; }

    /// <summary>The claim that carries the role names SupportAgent, OpsLead or BusinessUser.</summary>
    public string RoleClaim { get; set; } = "roles";
}
