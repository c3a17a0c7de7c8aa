using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using OrderFlow.Ingest;
using OrderFlow.Platform.Hosting;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests;

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}

/// <summary>Console.Ingest running in this process against a real PostgreSQL database and Kafka-protocol broker.</summary>
public sealed class IngestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private IngestHost(WebApplication app) => _app = app;

    public static Task<IngestHost> StartAsync(string connectionString, string bootstrapServers, int maxBatchSize = 500, IReadOnlyDictionary<string, string?>? settings = null) =>
        StartAsync(connectionString, bootstrapServers, logs: null, maxBatchSize, settings);

    /// <summary>As above; every log line of the app (Information and up) is also kept in <paramref name="logs"/>, for tests that wait on what it says.</summary>
    public static async Task<IngestHost> StartAsync(string connectionString, string bootstrapServers, CapturedLogs? logs, int maxBatchSize = 500, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:ReadModel"] = connectionString,
            ["Kafka:BootstrapServers"] = bootstrapServers,
            ["Kafka:ConsumerGroup"] = "order-flow-console",
            ["Projection:MaxBatchSize"] = maxBatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Urls"] = "http://127.0.0.1:0",
            ["Serilog:MinimumLevel:Default"] = "Warning",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.AddIngestServices();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
        }

        var app = builder.Build();
        app.MapPlatformHealth();
        await StartupGuard.EnsureDependenciesAsync(app.Services);
        await app.StartAsync();
        return new IngestHost(app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Small parameterized reads of the read model for assertions.</summary>
public sealed class ReadModel(string connectionString)
{
    /// <summary>The read model's migrations applied, as the apps apply them at start.</summary>
    public static async Task MigrateAsync(string connectionString)
    {
        await using var context = new OrderFlow.Platform.ReadModel.ReadModelDb(
            new Microsoft.EntityFrameworkCore.DbContextOptionsBuilder<OrderFlow.Platform.ReadModel.ReadModelDb>()
                .UseNpgsql(connectionString)
                .ConfigureWarnings(w => w.Ignore(Microsoft.EntityFrameworkCore.Diagnostics.RelationalEventId.PendingModelChangesWarning)).Options);
        await Microsoft.EntityFrameworkCore.RelationalDatabaseFacadeExtensions.MigrateAsync(context.Database);
    }

    /// <summary>Every stored order as the projection reads it back: its stored events folded again, in the order they were written.</summary>
    public async Task<Dictionary<string, OrderFlow.Domain.Orders.OrderState>> StoredStatesAsync(IEnumerable<string>? orderIds = null)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var ids = orderIds?.ToArray();
        if (ids is null)
        {
            await using var all = new NpgsqlCommand("select array_agg(order_id) from orders", connection);
            ids = await all.ExecuteScalarAsync() as string[] ?? [];
        }

        await using var command = new NpgsqlCommand(OrderFlow.Ingest.Orders.StoredOrders.Sql, connection);
        command.Parameters.AddWithValue("ids", ids);
        await using var reader = await command.ExecuteReaderAsync();
        var stored = await OrderFlow.Ingest.Orders.StoredOrders.ReadAsync(reader, OrderFlow.Domain.Workflow.WorkflowVersions.Single(OrderFlow.Domain.Workflow.WorkflowDefinition.Default), CancellationToken.None);
        return stored.ToDictionary(o => o.Key, o => o.Value.State);
    }

    public async Task<long> CountAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<List<Dictionary<string, object?>>> RowsAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        var rows = new List<Dictionary<string, object?>>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var row = new Dictionary<string, object?>();
            for (var i = 0; i < reader.FieldCount; i++)
            {
                row[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }
}

/// <summary>Log lines of an in-process app ("Level Category: message"), kept in memory.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => _lines.ToList();

    public int Count(string text) => _lines.Count(l => l.Contains(text, StringComparison.Ordinal));

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)}");
            }
        }
    }
}
