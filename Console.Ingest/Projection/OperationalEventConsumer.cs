using System.Diagnostics;
using System.Threading.Channels;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using OrderFlow.Domain.Workflow;
using OrderFlow.Ingest.Offsets;
using OrderFlow.Platform.Kafka;

namespace OrderFlow.Ingest.Projection;

/// <summary>
/// Consumes the operational topic and projects it through <c>Projection:Writers</c> writer loops (docs/decisions/0010).
/// The consume loop collects and parses records and hands each writer the records of its partitions (p % Writers)
/// through a bounded channel, so consuming the next batch overlaps writing the current ones and every partition keeps
/// its order. Rebalances travel through the same channels, so each writer meets them in order. Positions come from
/// PostgreSQL (written with the projection), not from Kafka's committed offsets; the offsets stored in Kafka after
/// each write (auto-committed) only keep lag tools truthful.
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
    /// <summary>How long the consume loop waits for a first record before it looks at requests from the writers again.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        await writer.StoreWorkflowAsync(stoppingToken);
        var k = kafka.Value;
        var p = projection.Value;
        var config = new ConsumerConfig
        {
            BootstrapServers = k.BootstrapServers,
            GroupId = k.ConsumerGroup,
            // Kafka commits only what a writer stored after PostgreSQL committed it; positions never come from there.
            EnableAutoCommit = true,
            AutoCommitIntervalMs = 1000,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            SessionTimeoutMs = 10_000,
            ClientId = $"console-ingest-{Environment.MachineName}",
        };

        var writers = Enumerable.Range(0, p.Writers).Select(i => new WriterLoop(i, (p.CachedOrders + p.Writers - 1) / p.Writers)).ToArray();
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var rebalanced = new HashSet<TopicPartition>();

        // Runs on the consume thread, inside Consume: hands a rebalance to every writer, behind the batches already queued.
        void Hand(List<TopicPartition> partitions, bool waitForWrites)
        {
            rebalanced.UnionWith(partitions);
            var drops = new List<(WriterLoop Loop, DropPartitions Drop)>();
            foreach (var loop in writers.Where(w => !w.Writing.IsCompleted))
            {
                var drop = new DropPartitions(partitions);
                Task.WaitAny(loop.Work.Writer.WriteAsync(drop, stopping.Token).AsTask(), loop.Writing);
                drops.Add((loop, drop));
            }

            if (waitForWrites)
            {
                // Revoked: what was consumed from these partitions is written (or refused) before another instance takes them.
                foreach (var (loop, drop) in drops)
                {
                    Task.WaitAny(drop.Done.Task, loop.Writing);
                }
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
            .SetPartitionsRevokedHandler((_, partitions) => Hand(partitions.Select(tp => tp.TopicPartition).ToList(), waitForWrites: true))
            .SetPartitionsLostHandler((_, partitions) => Hand(partitions.Select(tp => tp.TopicPartition).ToList(), waitForWrites: true))
            .Build();

        foreach (var loop in writers)
        {
            loop.Writing = Task.Run(
                async () =>
                {
                    try
                    {
                        await WriteLoopAsync(loop, consumer, stopping.Token);
                    }
                    finally
                    {
                        // Everything stops with any writer, whatever ended it.
                        await stopping.CancelAsync();
                    }
                },
                CancellationToken.None);
        }

        Exception? failure = null;
        try
        {
            consumer.Subscribe(k.OperationalTopic);
            await ConsumeLoopAsync(consumer, writers, rebalanced, stopping.Token);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping, or a writer ended: its outcome is awaited below.
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        await stopping.CancelAsync();
        foreach (var loop in writers)
        {
            loop.Work.Writer.TryComplete();
            try
            {
                await loop.Writing;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failure ??= ex;
            }
            catch (OperationCanceledException)
            {
                // Stopping: an interrupted batch was rolled back and is read again at the next start.
            }
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

    private async Task ConsumeLoopAsync(IConsumer<byte[]?, byte[]?> consumer, WriterLoop[] writers, HashSet<TopicPartition> rebalanced, CancellationToken cancellationToken)
    {
        var p = projection.Value;
        var collect = p.MaxBatchSize * writers.Length;
        while (!cancellationToken.IsCancellationRequested)
        {
            foreach (var loop in writers.Where(w => Interlocked.Exchange(ref w.ReseekRequested, 0) == 1))
            {
                // Everything of its partitions consumed since the dropped batch lies behind a gap: read it again from the stored positions.
                await writer.Offsets.SeekToStoredAsync(consumer, consumer.Assignment.Where(tp => WriterOf(tp, writers.Length) == loop.Number).ToList(), cancellationToken);
                await loop.Work.Writer.WriteAsync(Resumed.Instance, cancellationToken);
            }

            var first = consumer.Consume(PollInterval);
            // A rebalance handled inside a Consume call comes before the record that call returns.
            rebalanced.Clear();
            if (first is null || first.IsPartitionEOF)
            {
                continue;
            }

            var started = Stopwatch.GetTimestamp();
            var records = new List<ConsumeResult<byte[]?, byte[]?>>(collect) { first };
            var deadline = DateTime.UtcNow + p.MaxBatchWait;
            while (records.Count < collect)
            {
                var remaining = deadline - DateTime.UtcNow;
                var next = consumer.Consume(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
                if (rebalanced.Count > 0)
                {
                    // Records collected before a partition was revoked or assigned anew are not ours to write.
                    records.RemoveAll(r => rebalanced.Contains(r.TopicPartition));
                    rebalanced.Clear();
                }

                if (next is null)
                {
                    break;
                }

                records.Add(next);
            }

            metrics.Phase("consume", started);
            foreach (var share in records.GroupBy(r => WriterOf(r.TopicPartition, writers.Length)))
            {
                foreach (var chunk in share.Chunk(p.MaxBatchSize))
                {
                    started = Stopwatch.GetTimestamp();
                    var parsed = ParsedBatch.Parse(chunk, workflow);
                    metrics.Phase("parse", started);
                    started = Stopwatch.GetTimestamp();
                    await writers[share.Key].Work.Writer.WriteAsync(new WriteBatch(parsed), cancellationToken);
                    metrics.Phase("queue", started);
                }
            }
        }
    }

    private async Task WriteLoopAsync(WriterLoop loop, IConsumer<byte[]?, byte[]?> consumer, CancellationToken cancellationToken)
    {
        try
        {
            await WriteLoopItemsAsync(loop, consumer, cancellationToken);
        }
        finally
        {
            await loop.CloseConnectionAsync();
        }
    }

    private async Task WriteLoopItemsAsync(WriterLoop loop, IConsumer<byte[]?, byte[]?> consumer, CancellationToken cancellationToken)
    {
        var discarding = false;
        var idle = Stopwatch.GetTimestamp();
        await foreach (var item in loop.Work.Reader.ReadAllAsync(cancellationToken))
        {
            switch (item)
            {
                case DropPartitions drop:
                    loop.Cache.Drop(drop.Partitions);
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
                    if (!await WriteAsync(loop, consumer, write.Batch, cancellationToken))
                    {
                        discarding = true;
                        Interlocked.Exchange(ref loop.ReseekRequested, 1);
                    }

                    idle = Stopwatch.GetTimestamp();
                    break;
            }
        }
    }

    /// <summary>Writes one batch, retrying transient PostgreSQL failures; false when a partition of it was lost (batch dropped).</summary>
    private async Task<bool> WriteAsync(WriterLoop loop, IConsumer<byte[]?, byte[]?> consumer, ParsedBatch batch, CancellationToken cancellationToken)
    {
        var refusedChecked = false;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                try
                {
                    loop.Connection ??= await writer.OpenConnectionAsync(cancellationToken);
                    var result = await writer.WriteAsync(batch, loop.Cache, loop.Connection, cancellationToken);
                    logger.LogDebug("Projected {Events} events into {Orders} orders ({Quarantined} quarantined)", result.Events, result.Orders, result.Quarantined);
                    break;
                }
                catch
                {
                    // Whatever failed, the next attempt starts on a fresh connection.
                    await loop.CloseConnectionAsync();
                    throw;
                }
            }
            catch (PartitionOwnershipLostException ex)
            {
                logger.LogWarning("{Message}; re-reading positions from PostgreSQL", ex.Message);
                loop.Cache.Drop(batch.Records.Select(r => r.TopicPartition).Distinct().ToList());
                return false;
            }
            catch (Exception ex) when (IsWriteConflict(ex) && !cancellationToken.IsCancellationRequested)
            {
                // Another writer folded events of the same orders (one order on several partitions, or a rebalance in
                // flight): written again, the batch reads those orders afresh.
                logger.LogWarning("Orders of the batch were written by another writer ({Message}); writing the batch again", ex.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 10 * attempt * attempt)), cancellationToken);
            }
            catch (Npgsql.PostgresException ex) when (ProjectionWriter.IsDataException(ex) && !refusedChecked && !cancellationToken.IsCancellationRequested)
            {
                // A value PostgreSQL cannot take that the codec let through: the events it refuses go to quarantine, the
                // rest is written, and the partition flows on. Refused again after that, the batch stops the worker loudly.
                refusedChecked = true;
                var refused = await writer.FindRefusedAsync(batch, cancellationToken);
                if (refused.Count == 0)
                {
                    throw;
                }

                logger.LogWarning("PostgreSQL refused {Count} event(s) of the batch ({Message}); quarantining them and writing the rest", refused.Count, ex.MessageText);
                batch = batch.WithQuarantined(refused);
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

    private static int WriterOf(TopicPartition partition, int writers) => partition.Partition.Value % writers;

    private static bool IsWriteConflict(Exception ex) =>
        ex is OrderWrittenElsewhereException
        || ex is Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.UniqueViolation, TableName: "orders" };

    /// <summary>One writer: its queue of work, the folded orders of its partitions, its own transactions.</summary>
    private sealed class WriterLoop(int number, int cachedOrders)
    {
        public int Number { get; } = number;

        /// <summary>One batch queued while one is written: the next batch is consumed and parsed meanwhile.</summary>
        public Channel<Work> Work { get; } = Channel.CreateBounded<Work>(new BoundedChannelOptions(1) { SingleReader = true });

        public OrderCache Cache { get; } = new(cachedOrders);

        public Task Writing { get; set; } = Task.CompletedTask;

        /// <summary>Kept from batch to batch; null after a failure until the next batch opens a new one.</summary>
        public Npgsql.NpgsqlConnection? Connection { get; set; }

        public async Task CloseConnectionAsync()
        {
            if (Connection is { } connection)
            {
                Connection = null;
                await connection.DisposeAsync();
            }
        }

        /// <summary>Set by the writer after it dropped a batch of a lost partition; the consume loop then re-seeks its partitions.</summary>
        public int ReseekRequested;
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
