using OrderFlow.Ingest.Projection;
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
        builder.Services.AddSingleton<ProjectionWriter>();
        builder.Services.AddHostedService<OperationalEventConsumer>();
        return builder;
    }
}
