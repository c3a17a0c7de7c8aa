using OpenTelemetry.Metrics;
using OrderFlow.Web.Lag;
using OrderFlow.Web.Reports;
using Scalar.AspNetCore;

namespace OrderFlow.Web.Flow;

/// <summary>Registrations of the ops-lead and business views (issue 16): flow, lag, reports, wallboard hub, OpenAPI, metrics.</summary>
public static class FlowViews
{
    public static WebApplicationBuilder AddFlowViews(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<FlowQueries>();
        builder.Services.AddSingleton<LagQueries>();
        builder.Services.AddSingleton<ReportQueries>();
        builder.Services.AddOptions<LagImpactOptions>().Bind(builder.Configuration.GetSection(LagImpactOptions.Section));
        builder.Services.AddSignalR();
        builder.Services.AddSingleton<FlowFeed>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<FlowFeed>());
        builder.Services.AddOpenApi();
        builder.Services.AddMetrics();
        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(FlowFeed.MeterName).AddPrometheusExporter();
                // OTLP only where a collector is named (OTEL_EXPORTER_OTLP_ENDPOINT), so nothing is sent by default.
                if (!string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
                {
                    metrics.AddOtlpExporter();
                }
            });
        return builder;
    }

    /// <summary>Maps the views' API and hub, the OpenAPI document (/openapi/v1.json), its reference page (/api-reference) and /metrics.</summary>
    public static (RouteGroupBuilder Api, HubEndpointConventionBuilder Hub) MapFlowViews(this WebApplication app)
    {
        var meter = app.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>().Create(new System.Diagnostics.Metrics.MeterOptions(FlowFeed.MeterName));
        FlowFeed.CreateInstruments(meter, app.Services.GetRequiredService<FlowFeed>());
        app.MapOpenApi();
        app.MapScalarApiReference("/api-reference", options => options.WithTitle("Order Flow Console API").WithOpenApiRoutePattern("/openapi/{documentName}.json"));
        app.MapPrometheusScrapingEndpoint();
        return app.MapViewsApi();
    }
}
