using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using OrderFlow.Platform.Kafka;
using Microsoft.Extensions.Options;
using OrderFlow.Platform.ReadModel;
using OrderFlow.Platform.Workflow;
using Serilog;

namespace OrderFlow.Platform.Hosting;

public static class PlatformServices
{
    /// <summary>Options bound from a configuration section, validated by their attributes when the app starts.</summary>
    public static IHostApplicationBuilder AddValidatedOptions<TOptions>(this IHostApplicationBuilder builder, string section)
        where TOptions : class
    {
        builder.Services.AddOptions<TOptions>()
            .Bind(builder.Configuration.GetSection(section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        return builder;
    }

    /// <summary>Logging, validated Kafka options, the PostgreSQL read model and the health checks shared by Ingest and Web.</summary>
    public static IHostApplicationBuilder AddPlatformServices(this IHostApplicationBuilder builder)
    {
        builder.Logging.ClearProviders();
        builder.Logging.AddSerilog(
            new LoggerConfiguration()
                .MinimumLevel.Information()
                .MinimumLevel.Override("Microsoft", Serilog.Events.LogEventLevel.Warning)
                .MinimumLevel.Override("Microsoft.Hosting.Lifetime", Serilog.Events.LogEventLevel.Information)
                // Four lines per outgoing request (Console.Web asks Console.Ingest's /health every 2 s): failures still show.
                .MinimumLevel.Override("System.Net.Http.HttpClient", Serilog.Events.LogEventLevel.Warning)
                // A failing command surfaces as an exception where it is handled; EF's own error line (for example the
                // probe of a not-yet-created migrations table on a new database) only adds noise.
                .MinimumLevel.Override("Microsoft.EntityFrameworkCore.Database.Command", Serilog.Events.LogEventLevel.Fatal)
                .ReadFrom.Configuration(builder.Configuration)
                .Enrich.FromLogContext()
                .WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}", formatProvider: System.Globalization.CultureInfo.InvariantCulture)
                .CreateLogger(),
            dispose: true);

        // The workflow definition: workflow.json ships the default; appsettings and environment variables override it.
        // Console.Ingest watches the file and stores each valid change as a new version (decision 0022).
        builder.Configuration.Sources.Insert(0, WorkflowFile.Source(builder.Configuration[$"{WorkflowOptions.Section}:File"]));
        builder.Services.AddOptions<WorkflowOptions>()
            .Bind(builder.Configuration.GetSection(WorkflowOptions.Section))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<WorkflowOptions>, WorkflowOptionsValidator>();
        builder.Services.AddSingleton(sp => new WorkflowCatalog(sp.GetRequiredService<IOptions<WorkflowOptions>>().Value.ToDefinition()));

        builder.AddValidatedOptions<AtRiskOptions>(AtRiskOptions.Section);
        builder.AddValidatedOptions<KafkaOptions>(KafkaOptions.Section);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<KafkaProbe>();

        var connectionString = builder.Configuration.GetConnectionString("ReadModel");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new StartupFailedException("ConnectionStrings:ReadModel is not set (for example ConnectionStrings__ReadModel=\"Host=127.0.0.1;Port=5432;Database=orderflow;Username=postgres\").");
        }

        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw new StartupFailedException($"ConnectionStrings:ReadModel is not a valid PostgreSQL connection string ({ex.Message}).");
        }

        builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        builder.Services.AddDbContextFactory<ReadModelDb>((sp, options) => options.UseNpgsql(sp.GetRequiredService<NpgsqlDataSource>())
            // Migrations are hand-written SQL (no EF design package here), so there is no model snapshot to compare with.
            .ConfigureWarnings(w => w.Ignore(Microsoft.EntityFrameworkCore.Diagnostics.RelationalEventId.PendingModelChangesWarning)));

        builder.Services.AddHealthChecks()
            .AddCheck<PostgresHealthCheck>("postgresql")
            .AddCheck<KafkaHealthCheck>("kafka");
        return builder;
    }

    /// <summary>GET /health: 200 when PostgreSQL and Kafka answer, 503 otherwise, with a JSON body per dependency.</summary>
    public static IEndpointConventionBuilder MapPlatformHealth(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = WriteHealthAsync });

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), detail = e.Value.Description }),
        }));
    }
}

internal sealed class PostgresHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // The planner's estimate: cheap on any table size.
            await using var command = dataSource.CreateCommand("select greatest(reltuples, 0)::bigint from pg_class where relname = 'orders'");
            var orders = await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy($"reachable, about {orders} orders in the read model");
        }
        catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy($"unreachable: {ex.Message}");
        }
    }
}

internal sealed class KafkaHealthCheck(KafkaProbe probe) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var (reachable, detail) = await probe.CheckAsync(TimeSpan.FromSeconds(3), cancellationToken);
        return reachable ? HealthCheckResult.Healthy(detail) : HealthCheckResult.Unhealthy(detail);
    }
}
