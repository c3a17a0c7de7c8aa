using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using OrderFlow.Domain.Lag;
using OrderFlow.Platform.Kafka;
using OrderFlow.Platform.ReadModel;

namespace OrderFlow.Ingest.Lag;

/// <summary>
/// Every SampleInterval: each watched group's committed offset and each partition's high watermark,
/// stored as a time series and evaluated over a sliding window (OK / WARN / STALL / STOP / REWIND, lag in seconds).
/// </summary>
public sealed class ConsumerLagSampler(
    NpgsqlDataSource dataSource,
    IOptions<LagOptions> options,
    IOptions<KafkaOptions> kafka,
    TimeProvider clock,
    ILogger<ConsumerLagSampler> logger) : BackgroundService
{
    private readonly Dictionary<(string Group, TopicPartition Partition), Queue<LagSample>> _windows = [];
    private readonly Dictionary<(string Group, TopicPartition Partition), DateTimeOffset> _lastProgress = [];
    private DateTimeOffset _lastPrune;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var k = kafka.Value;
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = k.BootstrapServers }).SetLogHandler((_, _) => { }).Build();
        using var watermarks = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = k.BootstrapServers,
            GroupId = k.ConsumerGroup + "-lag-sampler",
            EnableAutoCommit = false,
        }).SetLogHandler((_, _) => { }).Build();

        using var timer = new PeriodicTimer(options.Value.SampleInterval, clock);
        do
        {
            try
            {
                await SampleAsync(admin, watermarks, stoppingToken);
            }
            catch (Exception ex) when (ex is KafkaException or NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Lag sample skipped: {Message}", ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public async Task SampleAsync(IAdminClient admin, IConsumer<Ignore, Ignore> watermarks, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var topics = o.TopicList.Count > 0 ? o.TopicList : [kafka.Value.OperationalTopic];
        var partitions = new List<TopicPartition>();
        foreach (var topic in topics)
        {
            var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(5));
            partitions.AddRange(metadata.Topics.SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Topic, p.PartitionId))));
        }

        var ends = partitions.ToDictionary(tp => tp, tp => watermarks.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(5)).High.Value);
        var now = clock.GetUtcNow();
        var samples = new List<(string Group, TopicPartition Partition, LagSample Sample)>();
        foreach (var group in o.GroupList)
        {
            // Explicit partitions: the embedded broker answers ListConsumerGroupOffsets only this way.
            var committed = await admin.ListConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitions(group, partitions)]);
            foreach (var tpo in committed.SelectMany(r => r.Partitions))
            {
                if (tpo.Offset == Offset.Unset || tpo.Error.IsError)
                {
                    continue;
                }

                samples.Add((group, tpo.TopicPartition, new LagSample(now, tpo.Offset.Value, ends[tpo.TopicPartition])));
            }
        }

        var evaluations = new List<(string Group, TopicPartition Partition, PartitionLag Lag)>();
        foreach (var (group, partition, sample) in samples)
        {
            var window = _windows.TryGetValue((group, partition), out var w) ? w : _windows[(group, partition)] = new Queue<LagSample>();
            if (window.Count == 0 || window.Last().CommittedOffset != sample.CommittedOffset || !_lastProgress.ContainsKey((group, partition)))
            {
                _lastProgress[(group, partition)] = sample.At;
            }

            window.Enqueue(sample);
            while (window.Count > o.WindowSamples)
            {
                window.Dequeue();
            }

            evaluations.Add((group, partition, ConsumerLagEvaluation.Evaluate(window.ToList(), now, o.StopAfter, _lastProgress[(group, partition)])));
        }

        await StoreAsync(samples, evaluations, now, cancellationToken);
    }

    private async Task StoreAsync(
        List<(string Group, TopicPartition Partition, LagSample Sample)> samples,
        List<(string Group, TopicPartition Partition, PartitionLag Lag)> evaluations,
        DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var copy = await connection.BeginBinaryImportAsync(
            "copy consumer_lag_samples (sampled_at, consumer_group, topic, partition, committed_offset, high_watermark, lag) from stdin (format binary)", cancellationToken))
        {
            foreach (var (group, partition, sample) in samples)
            {
                await copy.StartRowAsync(cancellationToken);
                await copy.WriteAsync(sample.At, NpgsqlDbType.TimestampTz, cancellationToken);
                await copy.WriteAsync(group, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(partition.Topic, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(partition.Partition.Value, NpgsqlDbType.Integer, cancellationToken);
                await copy.WriteAsync(sample.CommittedOffset, NpgsqlDbType.Bigint, cancellationToken);
                await copy.WriteAsync(sample.HighWatermark, NpgsqlDbType.Bigint, cancellationToken);
                await copy.WriteAsync(sample.Lag, NpgsqlDbType.Bigint, cancellationToken);
            }

            await copy.CompleteAsync(cancellationToken);
        }

        foreach (var (group, partition, lag) in evaluations)
        {
            await using var upsert = new NpgsqlCommand(
                """
                insert into consumer_lag_status (consumer_group, topic, partition, status, lag, lag_seconds, reason, evaluated_at)
                values (@group, @topic, @partition, @status, @lag, @seconds, @reason, @now)
                on conflict (consumer_group, topic, partition) do update set
                    status = excluded.status, lag = excluded.lag, lag_seconds = excluded.lag_seconds,
                    reason = excluded.reason, evaluated_at = excluded.evaluated_at
                """,
                connection, transaction);
            upsert.Parameters.AddWithValue("group", group);
            upsert.Parameters.AddWithValue("topic", partition.Topic);
            upsert.Parameters.AddWithValue("partition", partition.Partition.Value);
            upsert.Parameters.AddWithValue("status", lag.Status.ToString().ToUpperInvariant());
            upsert.Parameters.AddWithValue("lag", lag.Lag);
            upsert.Parameters.AddWithValue("seconds", lag.LagTime is { } t ? t.TotalSeconds : DBNull.Value);
            upsert.Parameters.AddWithValue("reason", lag.Reason);
            upsert.Parameters.AddWithValue("now", now);
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        if (now - _lastPrune > TimeSpan.FromMinutes(1))
        {
            await using var prune = new NpgsqlCommand("delete from consumer_lag_samples where sampled_at < @cutoff", connection, transaction);
            prune.Parameters.AddWithValue("cutoff", now - options.Value.Retention);
            await prune.ExecuteNonQueryAsync(cancellationToken);
            _lastPrune = now;
        }

        if (evaluations.Count > 0)
        {
            await new ChangeNotification { Lag = evaluations.Count }.SendAsync(connection, transaction, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }
}
