using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
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

    /// <summary>A background service failed after start (the projection sets it itself on a failure it cannot retry).</summary>
    public const int ExitCodeFailed = 3;

    public static async Task<int> RunAsync(string appName, Func<WebApplication> build)
    {
        WebApplication app;
        try
        {
            app = build();
            await EnsureDependenciesAsync(app.Services);
        }
        catch (Exception ex) when (ex is StartupFailedException or OptionsValidationException || IsUnreadableSetting(ex))
        {
            return Fail(appName, ex);
        }

        try
        {
            // Taken before running: RunAsync disposes the app's services when it returns.
            var background = app.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>()
                .OfType<Microsoft.Extensions.Hosting.BackgroundService>().ToList();
            await app.RunAsync();

            // A background service that failed stopped the host: say so in one line and with the exit code, for supervisors to see.
            var failures = background.Where(s => s.ExecuteTask is { IsFaulted: true })
                .Select(s => $"{s.GetType().Name}: {OneLine(s.ExecuteTask!.Exception!.GetBaseException())}").ToList();
            if (failures.Count == 0)
            {
                return Environment.ExitCode;
            }

            var exitCode = Environment.ExitCode == 0 ? ExitCodeFailed : Environment.ExitCode;
            System.Console.Error.WriteLine($"{appName} stopped (exit code {exitCode}): {string.Join("; ", failures)}");
            return exitCode;
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
                await using var probe = await dataSource.OpenConnectionAsync();
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

        // Ingest and Web may start together on a new database: one migrates, the other waits for it — as long as that takes
        // (no command timeout: a migration that fills a new table from a large read model runs for minutes).
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(StartupGuard));
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (var tryLock = new NpgsqlCommand("select pg_try_advisory_lock(727274)", connection))
        {
            if (!(bool)(await tryLock.ExecuteScalarAsync())!)
            {
                logger.LogInformation("Waiting for the other app to check or migrate the read model at {Where} (a migration on a large read model can take minutes)", where);
                await using var command = new NpgsqlCommand("select pg_advisory_lock(727274)", connection) { CommandTimeout = 0 };
                await command.ExecuteNonQueryAsync();
            }
        }

        try
        {
            await using var scope = services.CreateAsyncScope();
            var database = scope.ServiceProvider.GetRequiredService<ReadModelDb>().Database;
            var pending = (await database.GetPendingMigrationsAsync()).ToList();
            if (pending.Count == 0)
            {
                return;
            }

            logger.LogInformation("Migrating the read model at {Where}: {Migrations} (on a large read model this can take minutes)", where, string.Join(", ", pending));
            var started = System.Diagnostics.Stopwatch.StartNew();
            database.SetCommandTimeout(0);
            await database.MigrateAsync();
            logger.LogInformation("Read model migrated in {Seconds:N1} s", started.Elapsed.TotalSeconds);
        }
        catch (PostgresException ex)
        {
            throw new StartupFailedException($"Migrating the read model at {where} failed: {OneLine(ex)} (the failing migration was rolled back; fix the cause and start again).");
        }
        finally
        {
            await using var unlock = new NpgsqlCommand("select pg_advisory_unlock(727274)", connection);
            await unlock.ExecuteNonQueryAsync();
        }
    }

    /// <summary>The configuration binder's "Failed to convert configuration value at 'Sla:AtRiskShare' to type ..." .</summary>
    private static bool IsUnreadableSetting(Exception ex) =>
        ex is InvalidOperationException && ex.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal);

    private static int Fail(string appName, Exception ex)
    {
        var reason = ex is OptionsValidationException validation ? string.Join("; ", validation.Failures) : ex.Message;
        System.Console.Error.WriteLine($"{appName} cannot start: {reason}");
        return ExitCodeStartupFailed;
    }

    /// <summary>PostgreSQL's own message and code, without the POSITION/DETAIL lines Npgsql appends to Message.</summary>
    private static string OneLine(Exception ex) =>
        ex is Npgsql.PostgresException pg ? $"{pg.SqlState}: {pg.MessageText}" : ex.Message.ReplaceLineEndings(" ");
}
