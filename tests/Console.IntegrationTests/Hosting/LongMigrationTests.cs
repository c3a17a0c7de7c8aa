using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.Configuration;
using Npgsql;
using OrderFlow.Ingest;
using OrderFlow.Platform.Hosting;
using OrderFlow.Platform.ReadModel;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Hosting;

/// <summary>
/// A migration that runs longer than the connection's command timeout (on a large read model the OrderEndings migration
/// fills its table from every terminal event: minutes) completes, and the other app starting beside it waits for it,
/// instead of both ending in a timeout's stack trace.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class LongMigrationTests(PostgresServer postgres) : IDisposable
{
    private readonly KafkaBroker _kafka = new();

    [Fact]
    public async Task A_migration_longer_than_the_command_timeout_completes_and_the_app_beside_it_waits()
    {
        var db = await postgres.CreateDatabaseAsync();
        await using (var context = Context(db))
        {
            await context.GetService<IMigrator>().MigrateAsync("20261206030000_NewDeadLettersIndex");
        }

        // order_events held by another transaction: the pending migration's trigger waits for it.
        await using var holder = new NpgsqlConnection(db);
        await holder.OpenAsync();
        await using var hold = await holder.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand("lock table order_events in access exclusive mode", holder, hold))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        // Two apps start at once with a 1 s command timeout: one migrates, the other waits on the migration lock.
        var withTimeout = db + ";Command Timeout=1";
        var first = StartUpAsync(withTimeout);
        var second = StartUpAsync(withTimeout);

        // Both have waited well past their command timeout (the migration on the table, the other app on the migration).
        // Read on a connection of its own: within a transaction pg_stat_activity is a snapshot taken at its first read.
        await using var watcher = NpgsqlDataSource.Create(db);
        await using (var waiting = watcher.CreateCommand(
            "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and clock_timestamp() - query_start > interval '3 seconds'"))
        {
            await Eventually.UntilAsync(async () => (long)(await waiting.ExecuteScalarAsync())!, n => n == 2, TimeSpan.FromSeconds(60),
                "the migration and the other app waiting for over 3 s");
        }

        Assert.False(first.IsCompleted || second.IsCompleted);
        await hold.CommitAsync();
        await Task.WhenAll(first, second);

        await using (var context = Context(db))
        {
            Assert.Empty(await context.Database.GetPendingMigrationsAsync());
        }
    }

    /// <summary>What Console.Ingest does before it runs: PostgreSQL and Kafka reached, pending migrations applied.</summary>
    private async Task StartUpAsync(string connectionString)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:ReadModel"] = connectionString,
            ["Kafka:BootstrapServers"] = _kafka.BootstrapServers,
            ["Serilog:MinimumLevel:Default"] = "Warning",
        });
        builder.AddIngestServices();
        await using var app = builder.Build();
        await StartupGuard.EnsureDependenciesAsync(app.Services);
    }

    private static ReadModelDb Context(string connectionString) => new(
        new DbContextOptionsBuilder<ReadModelDb>()
            .UseNpgsql(connectionString)
            .ConfigureWarnings(w => w.Ignore(Microsoft.EntityFrameworkCore.Diagnostics.RelationalEventId.PendingModelChangesWarning)).Options);

    public void Dispose() => _kafka.Dispose();
}
