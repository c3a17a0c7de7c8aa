using OrderFlow.Ingest.DeadLetters;
using OrderFlow.Ingest.Lag;
using OrderFlow.Ingest.Outbox;
using OrderFlow.Ingest.Projection;
using OrderFlow.Ingest.Sla;
using OrderFlow.Platform.Hosting;

namespace OrderFlow.Ingest;

public static class IngestServices
{
    public static WebApplicationBuilder AddIngestServices(this WebApplicationBuilder builder)
    {
        builder.AddPlatformServices();
        builder.Services.AddOptions<ProjectionOptions>()
            .Bind(builder.Configuration.GetSection(ProjectionOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddOptions<SlaOptions>()
            .Bind(builder.Configuration.GetSection(SlaOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<ProjectionMetrics>();
        builder.Services.AddSingleton<ProjectionWriter>();
        builder.Services.AddHostedService<OperationalEventConsumer>();
        builder.Services.AddSingleton<ProjectionBacklog>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ProjectionBacklog>());
        builder.Services.AddSingleton<SlaWatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SlaWatcher>());
        builder.Services.AddOptions<OutboxOptions>()
            .Bind(builder.Configuration.GetSection(OutboxOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddHostedService<OutboxPublisher>();
        builder.Services.AddSingleton<DeadLetterWriter>();
        builder.Services.AddHostedService<DeadLetterConsumer>();
        builder.Services.AddOptions<LagOptions>()
            .Bind(builder.Configuration.GetSection(LagOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddHostedService<ConsumerLagSampler>();
        return builder;
    }
}
