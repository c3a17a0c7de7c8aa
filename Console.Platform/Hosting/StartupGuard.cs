using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using OrderFlow.Platform.Kafka;
using OrderFlow.Platform.ReadModel;

namespace OrderFlow.Platform.Hosting;

/// <summary>Raised for a start-up problem a person can fix; the message is the one line they see.</summary>
public sealed class StartupFailedException(string message) : Exception(message);

/// <summary>
/// Builds and runs an app so that bad configuration or unreachable PostgreSQL/Kafka end the process
/// with one actionable line on stderr and exit code 2, never a stack trace.
/// </summary>
public static class StartupGuard
{
    public const int ExitCodeStartupFailed = 2;

    public static async Task<int> RunAsync(string appName, Func<WebApplication> build)
    {
        WebApplication app;
        try
        {
            app = build();
            await EnsureDependenciesAsync(app.Services);
        }
        catch (Exception ex) when (ex is StartupFailedException or OptionsValidationException)
        {
            return Fail(appName, ex);
        }

        try
        {
            await app.RunAsync();
            // A worker that stopped the app on a fatal error set a non-zero exit code for supervisors to see.
            return Environment.ExitCode;
        }
        catch (OptionsValidationException ex)
        {
            return Fail(appName, ex);
        }
    }

    /// <summary>Waits up to Kafka:ConnectTimeout for PostgreSQL and Kafka, then applies pending migrations.</summary>
    public static async Task EnsureDependenciesAsync(IServiceProvider services)
    {
        // Configuration first: a wrong setting is named before any connection is tried.
        services.GetService<IStartupValidator>()?.Validate();
        var kafka = services.GetRequiredService<IOptions<KafkaOptions>>().Value;
        var dataSource = services.GetRequiredService<NpgsqlDataSource>();
        var deadline = DateTime.UtcNow + kafka.ConnectTimeout;
        var builder = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        var where = $"{builder.Host}:{builder.Port}/{builder.Database}";

        while (true)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync();
                break;
            }
            catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
            {
                if (ex is PostgresException { SqlState: "3D000" or "28P01" or "28000" })
                {
                    throw new StartupFailedException($"PostgreSQL at {where} refused the connection: {ex.Message}. Fix ConnectionStrings__ReadModel.");
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new StartupFailedException($"PostgreSQL at {where} is unreachable ({ex.Message.TrimEnd('.')}). Start it (./run.sh starts a local one) or set ConnectionStrings__ReadModel.");
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250));
            }
        }

        var (reachable, detail) = await services.GetRequiredService<KafkaProbe>().CheckAsync(kafka.ConnectTimeout);
        if (!reachable)
        {
            throw new StartupFailedException($"Kafka at {kafka.BootstrapServers} is unreachable ({detail}). Start a broker (./run.sh starts an embedded one) or set Kafka__BootstrapServers.");
        }

        await using var scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<ReadModelDb>().Database.MigrateAsync();
    }

    private static int Fail(string appName, Exception ex)
    {
        var reason = ex is OptionsValidationException validation ? string.Join("; ", validation.Failures) : ex.Message;
        System.Console.Error.WriteLine($"{appName} cannot start: {reason}");
        return ExitCodeStartupFailed;
    }
}
