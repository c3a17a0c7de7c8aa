using System.Diagnostics;
using System.Threading.Channels;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using OrderFlow.Domain.Workflow;
using OrderFlow.Ingest.Offsets;
using OrderFlow.Platform.Kafka;

namespace OrderFlow.Ingest.Projection;

/// <summary>
/// Consumes the operational topic in batches and hands each batch to the ProjectionWriter. Two loops overlap: the
/// consume loop collects and parses the next batch while the write loop folds and writes the current one; a bounded
/// channel between them keeps the order of batches, and rebalances travel through it too, so the writer meets them
/// in order. Positions come from PostgreSQL (written with the projection), not from Kafka's committed offsets; the
/// offsets stored in Kafka after each write (auto-committed) only keep lag tools truthful.
/// </summary>
public sealed class OperationalEventConsumer(
    ProjectionWriter writer,
    WorkflowDefinition workflow,
    ProjectionMetrics metrics,
    IOptions<KafkaOptions> kafka,
    IOptions<ProjectionOptions> projection,
    IHostApplicationLifetime lifetime,
    ILogger<OperationalEventConsumer> logger) : BackgroundService
{
    /// <summary>How long the consume loop waits for a first record before it looks at requests from the writer again.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Set by the write loop after it dropped a batch of a lost partition; the consume loop then re-seeks.</summary>
    private int _reseekRequested;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var k = kafka.Value;
        var config = new ConsumerConfig
        {
            BootstrapServers = k.BootstrapServers,
            GroupId = k.ConsumerGroup,
            // Kafka commits only what the write loop stored after PostgreSQL committed it; positions never come from there.
            EnableAutoCommit = true,
            AutoCommitIntervalMs = 1000,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            SessionTimeoutMs = 10_000,
            ClientId = $"console-ingest-{Environment.MachineName}",
        };

        // One batch queued while one is written: the next batch is consumed and parsed meanwhile.
        var work = Channel.CreateBounded<Work>(new BoundedChannelOptions(1) { SingleReader = true });
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var writing = Task.CompletedTask;
        var rebalanced = new HashSet<TopicPartition>();

        // Runs on the consume thread, inside Consume: hands a rebalance to the write loop, behind the batches already queued.
        void Hand(List<TopicPartition> partitions, bool waitForWrites)
        {
            rebalanced.UnionWith(partitions);
            if (writing.IsCompleted)
            {
                return;
            }

            var drop = new DropPartitions(partitions);
            Task.WaitAny(work.Writer.WriteAsync(drop, stopping.Token).AsTask(), writing);
            if (waitForWrites)
            {
                // Revoked: what was consumed from these partitions is written (or refused) before another instance takes them.
                Task.WaitAny(drop.Done.Task, writing);
            }
        }

        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetErrorHandler((_, e) => logger.LogWarning("Kafka: {Reason}", e.Reason))
            .SetPartitionsAssignedHandler((c, partitions) =>
            {
                var positions = writer.Offsets.ResumePositions(c, partitions, logger, stoppingToken);
                Hand(partitions, waitForWrites: false);
                return positions;
            })
            .SetPartitionsRevokedHandler((_, partitions) => Hand(partitions.Select(p => p.TopicPartition).ToList(), waitForWrites: true))
            .SetPartitionsLostHandler((_, partitions) => Hand(partitions.Select(p => p.TopicPartition).ToList(), waitForWrites: true))
            .Build();

        writing = Task.Run(
            async () =>
            {
                try
                {
                    await WriteLoopAsync(work.Reader, consumer, stopping.Token);
                }
                finally
                {
                    // The consume loop stops with the writer, whatever ended it.
                    await stopping.CancelAsync();
                }
            },
            CancellationToken.None);

        Exception? failure = null;
        try
        {
            consumer.Subscribe(k.OperationalTopic);
            await ConsumeLoopAsync(consumer, work.Writer, rebalanced, stopping.Token);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping, or the write loop ended: its outcome is awaited below.
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        await stopping.CancelAsync();
        work.Writer.TryComplete();
        try
        {
            await writing;
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            failure ??= ex;
        }
        catch (Exception)
        {
            // Stopping: an interrupted batch was rolled back and is read again at the next start.
        }

        try
        {
            consumer.Close();
        }
        catch (KafkaException ex)
        {
            logger.LogDebug("Kafka consumer close: {Reason}", ex.Error.Reason);
        }

        if (failure is not null && !stoppingToken.IsCancellationRequested)
        {
            // A failure with nowhere to go stops the worker loudly instead of skipping records.
            logger.LogCritical(failure, "Projection stopped: {Message}", failure.Message);
            Environment.ExitCode = 3;
            lifetime.StopApplication();
            throw failure;
        }
    }

    private async Task ConsumeLoopAsync(IConsumer<byte[]?, byte[]?> consumer, ChannelWriter<Work> work, HashSet<TopicPartition> rebalanced, CancellationToken cancellationToken)
    {
        var p = projection.Value;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (Interlocked.Exchange(ref _reseekRequested, 0) == 1)
            {
                // Everything consumed since the dropped batch lies behind a gap: read it again from the stored positions.
                await writer.Offsets.SeekToStoredAsync(consumer, cancellationToken);
                await work.WriteAsync(Resumed.Instance, cancellationToken);
            }

            rebalanced.Clear();
            var first = consumer.Consume(PollInterval);
            if (first is null || first.IsPartitionEOF)
            {
                continue;
            }

            var started = Stopwatch.GetTimestamp();
            var batch = new List<ConsumeResult<byte[]?, byte[]?>>(p.MaxBatchSize) { first };
            var deadline = DateTime.UtcNow + p.MaxBatchWait;
            while (batch.Count < p.MaxBatchSize)
            {
                var remaining = deadline - DateTime.UtcNow;
                var next = consumer.Consume(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
                if (rebalanced.Count > 0)
                {
                    // Records of partitions revoked or assigned anew while the batch was collected are not ours to write.
                    batch.RemoveAll(r => rebalanced.Contains(r.TopicPartition));
                    rebalanced.Clear();
                }

                if (next is null)
                {
                    break;
                }

                batch.Add(next);
            }

            if (batch.Count == 0)
            {
                continue;
            }

            metrics.Phase("consume", started);
            started = Stopwatch.GetTimestamp();
            var parsed = ParsedBatch.Parse(batch, workflow);
            metrics.Phase("parse", started);
            started = Stopwatch.GetTimestamp();
            await work.WriteAsync(new WriteBatch(parsed), cancellationToken);
            metrics.Phase("queue", started);
        }
    }

    private async Task WriteLoopAsync(ChannelReader<Work> work, IConsumer<byte[]?, byte[]?> consumer, CancellationToken cancellationToken)
    {
        var discarding = false;
        var idle = Stopwatch.GetTimestamp();
        await foreach (var item in work.ReadAllAsync(cancellationToken))
        {
            switch (item)
            {
                case DropPartitions drop:
                    writer.DropPartitions(drop.Partitions);
                    drop.Done.TrySetResult();
                    break;
                case Resumed:
                    discarding = false;
                    break;
                case WriteBatch when discarding:
                    // Consumed before the consume loop went back to the stored positions.
                    break;
                case WriteBatch write:
                    metrics.Phase("idle", idle);
                    if (!await WriteAsync(consumer, write.Batch, cancellationToken))
                    {
                        discarding = true;
                        Interlocked.Exchange(ref _reseekRequested, 1);
                    }

                    idle = Stopwatch.GetTimestamp();
                    break;
            }
        }
    }

    /// <summary>Writes one batch, retrying transient PostgreSQL failures; false when a partition of it was lost (batch dropped).</summary>
    private async Task<bool> WriteAsync(IConsumer<byte[]?, byte[]?> consumer, ParsedBatch batch, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var result = await writer.WriteAsync(batch, cancellationToken);
                logger.LogDebug("Projected {Events} events into {Orders} orders ({Quarantined} quarantined)", result.Events, result.Orders, result.Quarantined);
                break;
            }
            catch (PartitionOwnershipLostException ex)
            {
                logger.LogWarning("{Message}; re-reading positions from PostgreSQL", ex.Message);
                writer.DropPartitions(batch.Records.Select(r => r.TopicPartition).Distinct().ToList());
                return false;
            }
            catch (Npgsql.NpgsqlException ex) when (ex.IsTransient && !cancellationToken.IsCancellationRequested)
            {
                // PostgreSQL blipped: the transaction rolled back as a whole, so writing the same batch again is safe.
                var delay = TimeSpan.FromMilliseconds(Math.Min(5000, 100 * attempt * attempt));
                logger.LogWarning("PostgreSQL write failed ({Message}); retrying batch in {Delay}", ex.Message, delay);
                await Task.Delay(delay, cancellationToken);
            }
        }

        var started = Stopwatch.GetTimestamp();
        foreach (var partition in batch.Records.GroupBy(r => r.TopicPartition))
        {
            try
            {
                consumer.StoreOffset(new TopicPartitionOffset(partition.Key, partition.Max(r => r.Offset.Value) + 1));
            }
            catch (KafkaException ex)
            {
                // Positions are already safe in PostgreSQL; the Kafka commit only feeds lag tools (and the partition may be gone).
                logger.LogDebug("Kafka offset store failed for {Partition}: {Reason}", partition.Key, ex.Error.Reason);
            }
        }

        metrics.Phase("kafka-store", started);
        return true;
    }

    private abstract record Work;

    private sealed record WriteBatch(ParsedBatch Batch) : Work;

    /// <summary>Partitions assigned, revoked or lost: the writer forgets their cached orders once the batches before are written.</summary>
    private sealed record DropPartitions(List<TopicPartition> Partitions) : Work
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>The consume loop re-sought to the stored positions: batches from here on follow them.</summary>
    private sealed record Resumed : Work
    {
        public static readonly Resumed Instance = new();
    }
}
