using OrderFlow.Ingest.DeadLetters;
using OrderFlow.Ingest.Flow;
using OrderFlow.Ingest.Lag;
using OrderFlow.Ingest.Outbox;
using OrderFlow.Ingest.Projection;
using OrderFlow.Ingest.Sla;
using OrderFlow.Ingest.Workflow;
using OrderFlow.Platform.Hosting;

namespace OrderFlow.Ingest;

public static class IngestServices
{
    public static WebApplicationBuilder AddIngestServices(this WebApplicationBuilder builder)
    {
        builder.AddPlatformServices();
        builder.AddValidatedOptions<ProjectionOptions>(ProjectionOptions.Section);
        builder.AddValidatedOptions<SlaOptions>(SlaOptions.Section);
        // Before the projection: the workflow versions are loaded before the first event is folded.
        builder.Services.AddHostedService<WorkflowReload>();
        builder.Services.AddSingleton<ProjectionMetrics>();
        builder.Services.AddSingleton<ProjectionWriter>();
        builder.Services.AddHostedService<OperationalEventConsumer>();
        builder.Services.AddSingleton<ProjectionBacklog>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ProjectionBacklog>());
        builder.Services.AddSingleton<SlaWatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SlaWatcher>());
        builder.AddValidatedOptions<OutboxOptions>(OutboxOptions.Section);
        builder.Services.AddHostedService<OutboxPublisher>();
        builder.Services.AddSingleton<DeadLetterWriter>();
        builder.Services.AddHostedService<DeadLetterConsumer>();
        builder.AddValidatedOptions<LagOptions>(LagOptions.Section);
        builder.Services.AddHostedService<ConsumerLagSampler>();
        builder.Services.AddSingleton<FlowUpkeep>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<FlowUpkeep>());
        return builder;
    }
}
