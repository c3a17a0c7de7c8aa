using Npgsql;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Reliability;

/// <summary>A failure the projection cannot retry stops the real executable loudly, with exit code 3, and skips nothing.</summary>
[Collection(PostgresCollection.Name)]
public sealed class FatalProjectionErrorTests(PostgresServer postgres) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly KafkaBroker _kafka = new();

    [Fact]
    public async Task A_table_renamed_under_the_projection_ends_ingest_with_exit_code_3_and_the_record_is_not_skipped()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        using var producer = _kafka.CreateProducer();
        var url = $"http://127.0.0.1:{PostgresServer.FreePort()}";
        await using var ingest = AppProcess.Start("Console.Ingest", new Dictionary<string, string>
        {
            ["ConnectionStrings__ReadModel"] = db,
            ["Kafka__BootstrapServers"] = _kafka.BootstrapServers,
            // The SLA watcher reads order_events too (it folds due orders again): off, so the projection is what stops.
            ["Sla__ExpiryPolicy"] = "Off",
        }, "--urls", url);
        await ingest.WaitForHealthyAsync(url, Timeout);

        await producer.PublishAsync([Events.Step("ORD-F1", "order-placed", 0)]);
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from orders"), n => n == 1, Timeout, "the first event projected");
        await ExecuteAsync(db, "alter table order_events rename to order_events_moved");
        await producer.PublishAsync([Events.Step("ORD-F2", "order-placed", 0)]);

        Assert.Equal(3, await ingest.WaitForExitAsync(Timeout));
        var line = Assert.Single(ingest.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("Console.Ingest stopped (exit code 3): OperationalEventConsumer: 42P01: relation \"order_events\" does not exist", line);
        Assert.Single(ingest.Output.Split('\n'), l => l.Contains("Projection stopped: 42P01: relation \"order_events\" does not exist", StringComparison.Ordinal));
        Assert.Equal(1, await readModel.CountAsync("select sum(next_offset) from consumer_offsets where topic = 'order-ops'"));

        // Once the table is back, the record that stopped it is projected: it was never skipped.
        await ExecuteAsync(db, "alter table order_events_moved rename to order_events");
        await using var restarted = await IngestHost.StartAsync(db, _kafka.BootstrapServers);
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from orders where order_id = 'ORD-F2'"), n => n == 1, Timeout, "the stopping record after the restart");
        Assert.Equal(2, await readModel.CountAsync("select count(*) from order_events"));
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public void Dispose() => _kafka.Dispose();
}
