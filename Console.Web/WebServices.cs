using OrderFlow.Platform.Hosting;
using OrderFlow.Web.Components;
using OrderFlow.Web.Live;
using OrderFlow.Web.Orders;
using Radzen;

namespace OrderFlow.Web;

public static class WebServices
{
    public static WebApplicationBuilder AddWebServices(this WebApplicationBuilder builder)
    {
        builder.AddPlatformServices();
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddRadzenComponents();
        builder.Services.AddSingleton<ReadModelChanges>();
        builder.Services.AddHostedService<ReadModelChangeListener>();
        builder.Services.AddScoped<OrderQueries>();
        return builder;
    }

    public static WebApplication MapWebEndpoints(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/error", createScopeForErrors: true);
        }

        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapPlatformHealth();
        app.MapOrdersApi();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }
}
