using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace OrderFlow.Web.Auth;

/// <summary>The JSON API's key: header <c>X-Api-Key</c> names one of Auth:ApiKeys, signed in as "apikey:&lt;name&gt;" with its role.</summary>
public sealed class ApiKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, IOptions<AuthOptions> auth)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string Header = "X-Api-Key";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(Header, out var values) || values.Count == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var given = Encoding.UTF8.GetBytes(values.ToString());
        var key = auth.Value.ApiKeys.FirstOrDefault(k => CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(k.Key), given));
        if (key is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("unknown API key"));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "apikey:" + key.Name), new Claim(ClaimTypes.Role, key.Role.ToString())], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}
