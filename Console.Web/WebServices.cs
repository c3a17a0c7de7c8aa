using MudBlazor.Services;
using Npgsql;
using OrderFlow.Platform.Hosting;
using OrderFlow.Web.Actions;
using OrderFlow.Web.Auth;
using OrderFlow.Web.Bulk;
using OrderFlow.Web.Components;
using OrderFlow.Web.DeadLetters;
using OrderFlow.Web.Flow;
using OrderFlow.Web.Freshness;
using OrderFlow.Web.Live;
using OrderFlow.Web.Orders;
using OrderFlow.Web.Quarantine;
using OrderFlow.Web.Stuck;
using OrderFlow.Web.Workflow;

namespace OrderFlow.Web;

public static class WebServices
{
    public static WebApplicationBuilder AddWebServices(this WebApplicationBuilder builder)
    {
        builder.AddPlatformServices();
        builder.AddConsoleAuth();
        builder.AddOperatorActions();
        if (builder.Configuration["Console:AtRiskShare"] is not null)
        {
            // The share Ingest writes at-risk moments with is the one the console must read them with: one setting.
            throw new StartupFailedException("Console:AtRiskShare is no longer read: set Sla:AtRiskShare (Sla__AtRiskShare), the one setting Console.Ingest and Console.Web share.");
        }

        builder.AddBulkJobs();
        builder.Services.AddOptions<ConsoleWebOptions>()
            .Bind(builder.Configuration.GetSection(ConsoleWebOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton(sp => ReadModelPool.Create(builder.Configuration, sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<ConsoleWebOptions>>().Value));
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddMudServices();
        builder.Services.AddSingleton<ReadModelChanges>();
        builder.Services.AddHostedService<ReadModelChangeListener>();
        builder.Services.AddSingleton<SharedQueries>();
        builder.Services.AddSingleton<OrderFlow.Web.Flow.DashboardAudience>();
        builder.Services.AddHttpClient();
        builder.Services.AddSingleton<FreshnessMonitor>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<FreshnessMonitor>());
        builder.Services.AddSingleton<OrderQueries>();
        builder.Services.AddSingleton<StuckQueries>();
        builder.Services.AddSingleton<WorkflowQueries>();
        builder.Services.AddHostedService<WorkflowCatalogRefresh>();
        builder.Services.AddSingleton<DeadLetterQueries>();
        builder.Services.AddSingleton<QuarantineQueries>();
        builder.Services.AddSingleton<NavigationCounts>();
        builder.AddFlowViews();
        return builder;
    }

    public static WebApplication MapWebEndpoints(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/error", createScopeForErrors: true);
        }

        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        app.MapStaticAssets().AllowAnonymous();
        app.MapPlatformHealth().AllowAnonymous();
        app.MapAuthEndpoints();
        app.MapOrdersApi();
        // Every view endpoint and the wallboard hub for a signed-in user or API key of any role (docs/api.md); record contents
        // ask more of their own (PayloadAccess).
        var (viewsApi, flowHub) = app.MapFlowViews();
        viewsApi.RequireAuthorization();
        flowHub.RequireAuthorization();
        app.MapActionsApi();
        app.MapBulkApi();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }
}
