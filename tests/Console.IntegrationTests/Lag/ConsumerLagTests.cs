using Confluent.Kafka;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Lag;

/// <summary>Lag figures sampled through the real Kafka protocol match offsets the test committed itself.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ConsumerLagTests(PostgresServer postgres) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly KafkaBroker _kafka = new();

    [Fact]
    public async Task A_group_committed_behind_the_end_shows_exact_lag_and_stalls()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        using (var producer = _kafka.CreateProducer())
        {
            await producer.PublishAsync(Enumerable.Range(0, 12).SelectMany(i => Events.HappyPath($"ORD-LAG{i}")));
        }

        // A group that read part of every partition and then stopped.
        var expected = new Dictionary<int, long>();
        using (var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = _kafka.BootstrapServers, GroupId = "lagging-group" }).Build())
        {
            var commits = new List<TopicPartitionOffset>();
            for (var p = 0; p < 6; p++)
            {
                var tp = new TopicPartition(KafkaBroker.OperationalTopic, p);
                var high = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(5)).High.Value;
                var committed = high / 2;
                commits.Add(new TopicPartitionOffset(tp, committed));
                expected[p] = high - committed;
            }

            consumer.Commit(commits);
        }

        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: new Dictionary<string, string?>
        {
            ["Lag:Groups"] = "lagging-group",
            ["Lag:SampleInterval"] = "00:00:00.100",
            ["Lag:WindowSamples"] = "3",
        });

        var behind = expected.Count(e => e.Value > 0);
        await Eventually.UntilAsync(
            () => readModel.CountAsync("select count(*) from consumer_lag_status where consumer_group = 'lagging-group' and status = 'STALL'"),
            n => n == behind, Timeout, $"the {behind} partitions behind to stall");
        await Eventually.UntilAsync(
            () => readModel.CountAsync("select count(*) from consumer_lag_status where consumer_group = 'lagging-group'"),
            n => n == 6, Timeout, "a status for every partition");
        var rows = await readModel.RowsAsync("select partition, lag from consumer_lag_status where consumer_group = 'lagging-group'");
        Assert.Equal(expected, rows.ToDictionary(r => (int)r["partition"]!, r => (long)r["lag"]!));
        Assert.True(expected.Values.Sum() > 0);
        var sampled = await readModel.RowsAsync(
            "select distinct partition, lag from consumer_lag_samples where consumer_group = 'lagging-group'");
        Assert.Equal(expected, sampled.ToDictionary(r => (int)r["partition"]!, r => (long)r["lag"]!));
    }

    [Fact]
    public async Task A_group_without_progress_for_longer_than_stop_after_is_stopped_even_when_the_window_is_shorter()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        using (var producer = _kafka.CreateProducer())
        {
            await producer.PublishAsync(Enumerable.Range(0, 6).SelectMany(i => Events.HappyPath($"ORD-STOP{i}")));
        }

        using (var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = _kafka.BootstrapServers, GroupId = "stopped-group" }).Build())
        {
            consumer.Commit(Enumerable.Range(0, 6).Select(p => new TopicPartitionOffset(KafkaBroker.OperationalTopic, p, 0)));
        }

        // The window (3 samples, 0.1 s apart) spans 0.2 s, far less than StopAfter (2 s).
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: new Dictionary<string, string?>
        {
            ["Lag:Groups"] = "stopped-group",
            ["Lag:SampleInterval"] = "00:00:00.100",
            ["Lag:WindowSamples"] = "3",
            ["Lag:StopAfter"] = "00:00:02",
        });

        await Eventually.UntilAsync(
            () => readModel.CountAsync("select count(*) from consumer_lag_status where consumer_group = 'stopped-group' and status = 'STOP' and lag > 0"),
            n => n > 0, Timeout, "the stopped group's partitions with records to reach STOP");
        var reasons = await readModel.RowsAsync("select reason from consumer_lag_status where consumer_group = 'stopped-group' and status = 'STOP'");
        Assert.All(reasons, r => Assert.StartsWith("no progress for", (string)r["reason"]!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_console_s_own_group_catches_up_to_zero_lag_and_is_ok()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        using (var producer = _kafka.CreateProducer())
        {
            await producer.PublishAsync(Enumerable.Range(0, 12).SelectMany(i => Events.HappyPath($"ORD-OWN{i}")));
        }

        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: new Dictionary<string, string?>
        {
            ["Lag:Groups"] = "order-flow-console",
            ["Lag:SampleInterval"] = "00:00:00.100",
        });

        int withRecords;
        using (var probe = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = _kafka.BootstrapServers, GroupId = "probe" }).Build())
        {
            withRecords = Enumerable.Range(0, 6).Count(p => probe.QueryWatermarkOffsets(new TopicPartition(KafkaBroker.OperationalTopic, p), TimeSpan.FromSeconds(5)).High.Value > 0);
        }

        await Eventually.UntilAsync(
            () => readModel.CountAsync("select count(*) from consumer_lag_status where consumer_group = 'order-flow-console' and status = 'OK' and lag = 0"),
            n => n == withRecords, Timeout, $"the console's group to reach zero lag on the {withRecords} partitions with records");
    }

    public void Dispose() => _kafka.Dispose();
}
