using System.Diagnostics;
using System.Threading.Channels;
using Confluent.Kafka;
using OrderFlow.Ingest.Offsets;
using OrderFlow.Ingest.Projection;

namespace OrderFlow.Ingest.Consuming;

/// <summary>What a <see cref="PartitionedBatchConsumer{TBatch}"/> reads and how it batches.</summary>
/// <param name="Name">Names the consumer in log lines.</param>
/// <param name="Lanes">Writer loops side by side: lane n writes the partitions p with p % Lanes = n.</param>
/// <param name="MissingTopicsAllowed">A topic that does not exist (yet) is reported and waited for instead of stopping the worker.</param>
public sealed record BatchConsumerSettings(
    string Name,
    string BootstrapServers,
    string ClientId,
    IReadOnlyList<string> Topics,
    int Lanes,
    int MaxBatchSize,
    TimeSpan MaxBatchWait,
    bool MissingTopicsAllowed = false);

/// <summary>
/// Consumes topics in batches and writes them exactly once (decision 0006): collect records for up to MaxBatchWait and
/// for as long as the lanes they go to are busy writing (decision 0025), hand
/// each lane the records of its partitions through a bounded channel (consuming the next batch overlaps writing this one,
/// and every partition keeps its order), store the offsets in Kafka after PostgreSQL committed them (only lag tools read
/// those: positions come from PostgreSQL), retry transient faults, quarantine what PostgreSQL refuses, re-read from the
/// stored positions after a lost partition, and stop the worker loudly on anything else. Rebalances travel through the
/// same channels, so each lane meets them in order.
/// </summary>
public sealed class PartitionedBatchConsumer<TBatch>(
    BatchConsumerSettings settings,
    StoredOffsets offsets,
    Func<IReadOnlyList<ConsumeResult<byte[]?, byte[]?>>, TBatch> prepare,
    Func<int, BatchLane<TBatch>> createLane,
    TimeProvider clock,
    IHostApplicationLifetime lifetime,
    ILogger logger,
    ProjectionMetrics? metrics = null)
    where TBatch : class, IConsumedBatch
{
    /// <summary>How long the consume loop waits for a first record before it looks at requests from the lanes again.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>While every lane a batch feeds is busy: how long one wait for the next record lasts before the lanes are looked at again.</summary>
    private static readonly TimeSpan BusyPoll = TimeSpan.FromMilliseconds(2);

    /// <summary>Runs on a thread of its own until stopped; a failure with nowhere to go stops the worker (exit code 3).</summary>
    public Task RunAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => ConsumeAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task ConsumeAsync(CancellationToken stoppingToken)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = settings.BootstrapServers,
            GroupId = offsets.Group,
            // Kafka commits only what a lane stored after PostgreSQL committed it; positions never come from there.
            EnableAutoCommit = true,
            AutoCommitIntervalMs = 1000,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            SessionTimeoutMs = 10_000,
            // How long a fetch waits for data (default 500 ms). Real Kafka answers a waiting fetch as soon as a record arrives,
            // so this only bounds idle fetches; librdkafka's mock cluster (tools/EmbeddedKafka) holds the fetch for the whole
            // wait, which made records arrive in 500 ms rounds (docs/benchmarks.md, event→screen latency).
            FetchWaitMaxMs = 20,
            ClientId = settings.ClientId,
        };

        var lanes = Enumerable.Range(0, settings.Lanes).Select(i => new Lane(i, createLane(i))).ToArray();
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var rebalanced = new HashSet<TopicPartition>();

        // Runs on the consume thread, inside Consume: hands a rebalance to every lane, behind the batches already queued.
        void Hand(List<TopicPartition> partitions, bool waitForWrites)
        {
            rebalanced.UnionWith(partitions);
            var drops = new List<(Lane Lane, DropPartitions Drop)>();
            foreach (var lane in lanes.Where(w => !w.Writing.IsCompleted))
            {
                var drop = new DropPartitions(partitions);
                Task.WaitAny(lane.Work.Writer.WriteAsync(drop, stopping.Token).AsTask(), lane.Writing);
                drops.Add((lane, drop));
            }

            if (waitForWrites)
            {
                // Revoked: what was consumed from these partitions is written (or refused) before another instance takes them.
                foreach (var (lane, drop) in drops)
                {
                    Task.WaitAny(drop.Done.Task, lane.Writing);
                }
            }
        }

        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetErrorHandler((_, e) => logger.LogWarning("Kafka ({Consumer}): {Reason}", settings.Name, e.Reason))
            .SetPartitionsAssignedHandler((c, partitions) =>
            {
                var positions = offsets.ResumePositions(c, partitions, logger, stoppingToken);
                Hand(partitions, waitForWrites: false);
                return positions;
            })
            .SetPartitionsRevokedHandler((_, partitions) => Hand(partitions.Select(tp => tp.TopicPartition).ToList(), waitForWrites: true))
            .SetPartitionsLostHandler((_, partitions) => Hand(partitions.Select(tp => tp.TopicPartition).ToList(), waitForWrites: true))
            .Build();

        foreach (var lane in lanes)
        {
            lane.Writing = Task.Run(
                async () =>
                {
                    try
                    {
                        await WriteLoopAsync(lane, consumer, stopping.Token);
                    }
                    finally
                    {
                        // Everything stops with any lane, whatever ended it.
                        await stopping.CancelAsync();
                    }
                },
                CancellationToken.None);
        }

        Exception? failure = null;
        try
        {
            consumer.Subscribe(settings.Topics);
            await CollectLoopAsync(consumer, lanes, rebalanced, stopping.Token);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping, or a lane ended: its outcome is awaited below.
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        await stopping.CancelAsync();
        foreach (var lane in lanes)
        {
            lane.Work.Writer.TryComplete();
            try
            {
                await lane.Writing;
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
            logger.LogDebug("Kafka consumer close ({Consumer}): {Reason}", settings.Name, ex.Error.Reason);
        }

        if (failure is not null && !stoppingToken.IsCancellationRequested)
        {
            // A failure with nowhere to go stops the worker loudly instead of skipping records.
            logger.LogCritical(failure, "{Consumer} stopped: {Message}", settings.Name, failure.Message);
            Environment.ExitCode = 3;
            lifetime.StopApplication();
            throw failure;
        }
    }

    private async Task CollectLoopAsync(IConsumer<byte[]?, byte[]?> consumer, Lane[] lanes, HashSet<TopicPartition> rebalanced, CancellationToken cancellationToken)
    {
        var collect = settings.MaxBatchSize * lanes.Length;
        while (!cancellationToken.IsCancellationRequested)
        {
            foreach (var lane in lanes.Where(w => Interlocked.Exchange(ref w.ReseekRequested, 0) == 1))
            {
                // Everything of its partitions consumed since the dropped batch lies behind a gap: read it again from the stored positions.
                await offsets.SeekToStoredAsync(consumer, consumer.Assignment.Where(tp => LaneOf(tp, lanes.Length) == lane.Number).ToList(), cancellationToken);
                await lane.Work.Writer.WriteAsync(Resumed.Instance, cancellationToken);
            }

            var first = Consume(consumer, PollInterval);
            // A rebalance handled inside a Consume call comes before the record that call returns.
            rebalanced.Clear();
            if (first is null || first.IsPartitionEOF)
            {
                continue;
            }

            var started = Stopwatch.GetTimestamp();
            var records = new List<ConsumeResult<byte[]?, byte[]?>>(collect) { first };
            var waiting = new bool[lanes.Length];
            waiting[LaneOf(first.TopicPartition, lanes.Length)] = true;
            var collecting = clock.GetTimestamp();
            while (records.Count < collect)
            {
                // Natural batching (decision 0025): take what has arrived; past MaxBatchWait, go on collecting only while
                // every lane this batch feeds is still busy (its records could not be written sooner anyway), so a batch
                // grows with the load instead of queueing behind the one being written, and adds no delay when idle.
                var remaining = settings.MaxBatchWait - clock.GetElapsedTime(collecting);
                var busy = remaining <= TimeSpan.Zero && AllBusy(lanes, waiting);
                var next = Consume(consumer, busy ? BusyPoll : remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
                if (rebalanced.Count > 0)
                {
                    // Records collected before a partition was revoked or assigned anew are not ours to write.
                    records.RemoveAll(r => rebalanced.Contains(r.TopicPartition));
                    rebalanced.Clear();
                    Array.Clear(waiting);
                    foreach (var r in records)
                    {
                        waiting[LaneOf(r.TopicPartition, lanes.Length)] = true;
                    }
                }

                if (next is null || next.IsPartitionEOF)
                {
                    if (busy && records.Count > 0 && !cancellationToken.IsCancellationRequested)
                    {
                        continue;
                    }

                    break;
                }

                records.Add(next);
                waiting[LaneOf(next.TopicPartition, lanes.Length)] = true;
            }

            metrics?.Phase("consume", started);
            foreach (var share in records.GroupBy(r => LaneOf(r.TopicPartition, lanes.Length)))
            {
                foreach (var chunk in share.Chunk(settings.MaxBatchSize))
                {
                    started = Stopwatch.GetTimestamp();
                    var batch = prepare(chunk);
                    metrics?.Phase("parse", started);
                    started = Stopwatch.GetTimestamp();
                    await lanes[share.Key].Work.Writer.WriteAsync(new WriteBatch(batch), cancellationToken);
                    metrics?.Phase("queue", started);
                }
            }
        }
    }

    /// <summary>True while every lane that records are collected for is writing or has a batch queued.</summary>
    private static bool AllBusy(Lane[] lanes, bool[] waiting)
    {
        var any = false;
        for (var i = 0; i < lanes.Length; i++)
        {
            if (waiting[i])
            {
                any = true;
                if (Volatile.Read(ref lanes[i].Busy) == 0 && lanes[i].Work.Reader.Count == 0)
                {
                    return false;
                }
            }
        }

        return any;
    }

    private ConsumeResult<byte[]?, byte[]?>? Consume(IConsumer<byte[]?, byte[]?> consumer, TimeSpan timeout)
    {
        try
        {
            return consumer.Consume(timeout);
        }
        catch (ConsumeException ex) when (settings.MissingTopicsAllowed && ex.Error.Code == ErrorCode.UnknownTopicOrPart && !ex.Error.IsFatal)
        {
            // A configured topic that does not exist (yet) holds nothing to write; the others keep flowing.
            logger.LogWarning("{Consumer}: topic missing: {Reason}", settings.Name, ex.Error.Reason);
            return null;
        }
    }

    private async Task WriteLoopAsync(Lane lane, IConsumer<byte[]?, byte[]?> consumer, CancellationToken cancellationToken)
    {
        await using var writer = lane.Writer;
        var discarding = false;
        var idle = Stopwatch.GetTimestamp();
        await foreach (var item in lane.Work.Reader.ReadAllAsync(cancellationToken))
        {
            switch (item)
            {
                case DropPartitions drop:
                    writer.Drop(drop.Partitions);
                    drop.Done.TrySetResult();
                    break;
                case Resumed:
                    discarding = false;
                    break;
                case WriteBatch when discarding:
                    // Consumed before the consume loop went back to the stored positions.
                    break;
                case WriteBatch write:
                    metrics?.Phase("idle", idle);
                    Volatile.Write(ref lane.Busy, 1);
                    try
                    {
                        if (!await WriteAsync(writer, consumer, write.Batch, cancellationToken))
                        {
                            discarding = true;
                            Interlocked.Exchange(ref lane.ReseekRequested, 1);
                        }
                    }
                    finally
                    {
                        Volatile.Write(ref lane.Busy, 0);
                    }

                    idle = Stopwatch.GetTimestamp();
                    break;
            }
        }
    }

    /// <summary>Writes one batch, retrying transient failures; false when a partition of it was lost (batch dropped).</summary>
    private async Task<bool> WriteAsync(BatchLane<TBatch> writer, IConsumer<byte[]?, byte[]?> consumer, TBatch batch, CancellationToken cancellationToken)
    {
        var quarantined = false;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                try
                {
                    await writer.WriteAsync(batch, cancellationToken);
                    break;
                }
                catch
                {
                    await writer.ResetAsync();
                    throw;
                }
            }
            catch (PartitionOwnershipLostException ex)
            {
                logger.LogWarning("{Consumer}: {Message}; re-reading positions from PostgreSQL", settings.Name, ex.Message);
                writer.Drop(batch.Records.Select(r => r.TopicPartition).Distinct().ToList());
                return false;
            }
            catch (Exception ex) when (writer.IsRetryable(ex) && !cancellationToken.IsCancellationRequested)
            {
                logger.LogWarning("{Consumer}: {Message}; writing the batch again", settings.Name, ex.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 10 * attempt * attempt)), clock, cancellationToken);
            }
            catch (Npgsql.NpgsqlException ex) when (ex.IsTransient && !cancellationToken.IsCancellationRequested)
            {
                // PostgreSQL blipped: the transaction rolled back as a whole, so writing the same batch again is safe.
                var delay = TimeSpan.FromMilliseconds(Math.Min(5000, 100 * attempt * attempt));
                logger.LogWarning("{Consumer}: PostgreSQL write failed ({Message}); retrying batch in {Delay}", settings.Name, ex.Message, delay);
                await Task.Delay(delay, clock, cancellationToken);
            }
            catch (Exception ex) when (!quarantined && writer.IsRefusal(ex) && !cancellationToken.IsCancellationRequested)
            {
                // What PostgreSQL refuses goes to quarantine and the rest is written, once: refused again after that (or
                // nothing found to quarantine), the batch stops the worker loudly.
                quarantined = true;
                var rest = await writer.QuarantineAsync(batch, ex, cancellationToken);
                if (rest is null)
                {
                    throw;
                }

                batch = rest;
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

        metrics?.Phase("kafka-store", started);
        return true;
    }

    private static int LaneOf(TopicPartition partition, int lanes) => partition.Partition.Value % lanes;

    /// <summary>One lane: its queue of work and its writer.</summary>
    private sealed class Lane(int number, BatchLane<TBatch> writer)
    {
        public int Number { get; } = number;

        public BatchLane<TBatch> Writer { get; } = writer;

        /// <summary>One batch queued while one is written: the next batch is consumed and prepared meanwhile.</summary>
        public Channel<Work> Work { get; } = Channel.CreateBounded<Work>(new BoundedChannelOptions(1) { SingleReader = true });

        public Task Writing { get; set; } = Task.CompletedTask;

        /// <summary>Set by the lane after it dropped a batch of a lost partition; the consume loop then re-seeks its partitions.</summary>
        public int ReseekRequested;

        /// <summary>1 while the lane writes a batch: the consume loop keeps collecting for it meanwhile.</summary>
        public int Busy;
    }

    private abstract record Work;

    private sealed record WriteBatch(TBatch Batch) : Work;

    /// <summary>Partitions assigned, revoked or lost: the lane forgets what it holds of them once the batches before are written.</summary>
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
