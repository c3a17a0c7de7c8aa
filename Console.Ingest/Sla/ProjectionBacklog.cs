using Confluent.Kafka;
using Microsoft.Extensions.Options;
using Npgsql;
using OrderFlow.Platform.Kafka;

namespace OrderFlow.Ingest.Sla;

/// <summary>How far the projection is behind the operational topic, as last measured.</summary>
/// <param name="Behind">Records on order-ops not yet stored in the read model, over all partitions.</param>
public sealed record BacklogReading(long Behind, DateTimeOffset MeasuredAt);

/// <summary>
/// Measures how far the projection (every Ingest instance of the group) is behind the operational topic: the offsets
/// stored in PostgreSQL with the read model (consumer_offsets) against the topic's high watermarks. The SLA watcher holds
/// breaches back while the backlog is large: a deadline judged against a read model that has not yet seen an order's
/// latest events would breach orders that finished in time (after an Ingest outage, every order of the backlog).
/// Measured on its own loop so a slow or absent broker never delays an SLA check.
/// </summary>
public sealed class ProjectionBacklog(
    NpgsqlDataSource dataSource,
    IOptions<KafkaOptions> kafka,
    IOptions<SlaOptions> options,
    TimeProvider clock,
    ILogger<ProjectionBacklog> logger) : BackgroundService
{
    private BacklogReading? _latest;

    /// <summary>The last successful measurement; null until the first one.</summary>
    public BacklogReading? Latest => Volatile.Read(ref _latest);

    /// <summary>Records a measurement (the loop below; a benchmark without a broker may state "caught up" itself).</summary>
    public void Report(long behind) => Volatile.Write(ref _latest, new BacklogReading(behind, clock.GetUtcNow()));

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.ExpiryPolicy == ExpiryPolicy.Off)
        {
            return Task.CompletedTask;
        }

        return Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var k = kafka.Value;
        using var client = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = k.BootstrapServers,
            GroupId = k.ConsumerGroup + "-sla-backlog",
            EnableAutoCommit = false,
        }).SetLogHandler((_, _) => { }).Build();
        using var admin = new DependentAdminClientBuilder(client.Handle).Build();

        using var timer = new PeriodicTimer(options.Value.BacklogCheckInterval, clock);
        do
        {
            try
            {
                Report(await MeasureAsync(admin, client, stoppingToken));
            }
            catch (Exception ex) when (ex is KafkaException or NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Projection backlog not measured ({Message}); the SLA watcher keeps the last reading", ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task<long> MeasureAsync(IAdminClient admin, IConsumer<Ignore, Ignore> client, CancellationToken cancellationToken)
    {
        var k = kafka.Value;
        var timeout = TimeSpan.FromSeconds(5);
        var metadata = admin.GetMetadata(k.OperationalTopic, timeout);
        var partitions = metadata.Topics.SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Topic, p.PartitionId))).ToList();

        var stored = new Dictionary<int, long>();
        await using (var command = dataSource.CreateCommand("select partition, next_offset from consumer_offsets where consumer_group = @group and topic = @topic"))
        {
            command.Parameters.AddWithValue("group", k.ConsumerGroup);
            command.Parameters.AddWithValue("topic", k.OperationalTopic);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                stored[reader.GetInt32(0)] = reader.GetInt64(1);
            }
        }

        long behind = 0;
        foreach (var partition in partitions)
        {
            var marks = client.QueryWatermarkOffsets(partition, timeout);
            var next = stored.TryGetValue(partition.Partition.Value, out var offset) ? offset : marks.Low.Value;
            behind += Math.Max(0, marks.High.Value - Math.Max(next, marks.Low.Value));
        }

        return behind;
    }
}
