using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using OrderFlow.Platform.Hosting;

namespace OrderFlow.Web.Auth;

/// <summary>
/// Sign-in for the console and its JSON API (docs/api.md, Authentication): everything needs a signed-in user (cookie,
/// local users or OpenID Connect) or an API key, except /login, /health and static files. Requests to /api get 401/403,
/// never a redirect.
/// </summary>
public static class AuthSetup
{
    private const string Cookie = CookieAuthenticationDefaults.AuthenticationScheme;
    private const string Oidc = OpenIdConnectDefaults.AuthenticationScheme;

    public static WebApplicationBuilder AddConsoleAuth(this WebApplicationBuilder builder)
    {
        builder.AddValidatedOptions<AuthOptions>(AuthOptions.Section);
        var settings = builder.Configuration.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();
        var authentication = builder.Services
            .AddAuthentication(o => o.DefaultScheme = "Console")
            .AddPolicyScheme("Console", "cookie or API key", o =>
                o.ForwardDefaultSelector = http => http.Request.Headers.ContainsKey(ApiKeyHandler.Header) ? ApiKeyHandler.SchemeName : Cookie)
            .AddCookie(Cookie, o =>
            {
                o.LoginPath = "/login";
                o.Cookie.Name = "console-auth";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.SlidingExpiration = true;
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                o.Events.OnRedirectToLogin = http => ApiStatusOr(http, StatusCodes.Status401Unauthorized);
                o.Events.OnRedirectToAccessDenied = http => ApiStatusOr(http, StatusCodes.Status403Forbidden);
            })
            .AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(ApiKeyHandler.SchemeName, null);
        if (!string.IsNullOrWhiteSpace(settings.Oidc.Authority))
        {
            authentication.AddOpenIdConnect(Oidc, o =>
            {
                o.Authority = settings.Oidc.Authority;
                o.ClientId = settings.Oidc.ClientId;
                o.ClientSecret = settings.Oidc.ClientSecret;
                o.ResponseType = "code";
                o.SignInScheme = Cookie;
                o.MapInboundClaims = false;
                o.Scope.Add("profile");
                o.GetClaimsFromUserInfoEndpoint = true;
                o.TokenValidationParameters.NameClaimType = "name";
                o.TokenValidationParameters.RoleClaimType = settings.Oidc.RoleClaim;
            });
        }

        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(PayloadAccess.Policy, p => p.RequireAuthenticatedUser().RequireAssertion(c => PayloadAccess.Allows(c.User)));
        builder.Services.AddCascadingAuthenticationState();
        return builder;
    }

    // Programs (the JSON API, the wallboard hub, the OpenAPI document, a metrics scraper) get a status code, people a sign-in page.
    private static readonly string[] MachineClientPaths = ["/api", "/hubs", "/openapi", "/metrics"];

    private static Task ApiStatusOr(RedirectContext<CookieAuthenticationOptions> context, int status)
    {
        if (MachineClientPaths.Any(p => context.Request.Path.StartsWithSegments(p)))
        {
            context.Response.StatusCode = status;
        }
        else
        {
            context.Response.Redirect(context.RedirectUri);
        }

        return Task.CompletedTask;
    }

    public static IEndpointRouteBuilder MapAuthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/auth/login", async (HttpContext http, IOptions<AuthOptions> options, [FromForm] string? user, [FromForm] string? password, [FromForm] string? returnUrl) =>
        {
            var local = options.Value.LocalUsers.FirstOrDefault(u => string.Equals(u.User, user, StringComparison.Ordinal));
            // Compared in fixed time, and against something even for an unknown user.
            var matches = CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(local?.Password ?? "\0unknown"), Encoding.UTF8.GetBytes(password ?? ""));
            if (local is null || !matches)
            {
                return Results.Redirect($"/login?failed=1&returnUrl={Uri.EscapeDataString(LocalOnly(returnUrl))}");
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, local.User), new Claim(ClaimTypes.Role, local.Role.ToString())], Cookie);
            await http.SignInAsync(Cookie, new ClaimsPrincipal(identity));
            return Results.Redirect(LocalOnly(returnUrl));
        }).AllowAnonymous();
        endpoints.MapGet("/auth/oidc", (string? returnUrl) =>
            Results.Challenge(new AuthenticationProperties { RedirectUri = LocalOnly(returnUrl) }, [Oidc])).AllowAnonymous();
        endpoints.MapPost("/auth/logout", async (HttpContext http) =>
        {
            await http.SignOutAsync(Cookie);
            return Results.Redirect("/login");
        }).AllowAnonymous();
        return endpoints;
    }

    /// <summary>Only a path on this site: never an open redirect.</summary>
    public static string LocalOnly(string? url) =>
        url is { Length: > 0 } && url[0] == '/' && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal) ? url : "/";
}
