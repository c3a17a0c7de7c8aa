using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Reliability;

/// <summary>PostgreSQL going away under a running Console.Ingest and coming back: retried, nothing lost, nothing doubled.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresOutageTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly KafkaBroker _kafka = new();

    [Fact]
    public async Task Events_published_while_postgres_is_down_are_projected_exactly_once_after_it_returns()
    {
        // A server of its own: this test stops it.
        var server = new PostgresServer();
        await server.InitializeAsync();
        try
        {
            var db = await server.CreateDatabaseAsync();
            var readModel = new ReadModel(db);
            using var producer = _kafka.CreateProducer();
            var all = Enumerable.Range(0, 200).SelectMany(i => Events.HappyPath($"ORD-PG{i:D3}")).ToList();
            var logs = new CapturedLogs();

            await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers, logs, maxBatchSize: 50);
            await producer.PublishAsync(all[..500]);
            await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events"), n => n == 500, Timeout, "the first 500 events");

            await server.StopAsync();
            await producer.PublishAsync(all[500..]);
            await Eventually.UntilAsync(() => Task.FromResult(logs.Count("PostgreSQL write failed")), n => n >= 2, Timeout, "the projection retrying its batch");

            await server.StartAsync();
            await Eventually.UntilAsync(() => readModel.CountAsync("select coalesce(sum(next_offset), 0) from consumer_offsets where topic = 'order-ops'"), n => n >= all.Count, Timeout, $"all {all.Count} events after the restart");

            await SharedConsumerGroupTests.AssertReadModelIsTheFoldOfAsync(readModel, all);
            Assert.Equal(200, await readModel.CountAsync("select count(*) from orders where status = 'completed' and event_count = 5"));
            Assert.DoesNotContain(logs.Lines, l => l.StartsWith("Critical", StringComparison.Ordinal) || l.Contains("BackgroundService failed", StringComparison.Ordinal));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    public void Dispose() => _kafka.Dispose();
}
