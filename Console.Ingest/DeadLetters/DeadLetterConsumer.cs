using Confluent.Kafka;
using Microsoft.Extensions.Options;
using OrderFlow.Ingest.Offsets;
using OrderFlow.Ingest.Projection;
using OrderFlow.Platform.Kafka;

namespace OrderFlow.Ingest.DeadLetters;

/// <summary>
/// Consumes the dead-letter topics (Kafka:DeadLetterTopics) in batches into dead_letters through the DeadLetterWriter.
/// Exactly-once like the projection (decision 0006): positions come from PostgreSQL, written with the rows;
/// the Kafka commit afterwards only keeps lag tools truthful.
/// </summary>
public sealed class DeadLetterConsumer(
    DeadLetterWriter writer,
    IOptions<KafkaOptions> kafka,
    IOptions<ProjectionOptions> projection,
    TimeProvider clock,
    IHostApplicationLifetime lifetime,
    ILogger<DeadLetterConsumer> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var topics = kafka.Value.DeadLetterTopicList.Distinct().ToList();
        if (topics.Count == 0)
        {
            logger.LogInformation("No dead-letter topics configured (Kafka:DeadLetterTopics); dead letters are not stored");
            return Task.CompletedTask;
        }

        return Task.Factory.StartNew(() => RunAsync(topics, stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    private async Task RunAsync(List<string> topics, CancellationToken stoppingToken)
    {
        var k = kafka.Value;
        var p = projection.Value;
        var config = new ConsumerConfig
        {
            BootstrapServers = k.BootstrapServers,
            GroupId = writer.Group,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            SessionTimeoutMs = 10_000,
            ClientId = $"console-dead-letters-{Environment.MachineName}",
        };

        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetErrorHandler((_, e) => logger.LogWarning("Kafka (dead letters): {Reason}", e.Reason))
            .SetPartitionsAssignedHandler((c, partitions) => writer.Offsets.ResumePositions(c, partitions, logger, stoppingToken))
            .Build();

        consumer.Subscribe(topics);
        var batch = new List<ConsumeResult<byte[]?, byte[]?>>(p.MaxBatchSize);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                batch.Clear();
                var first = Consume(consumer, null, stoppingToken);
                if (first is null || first.IsPartitionEOF)
                {
                    continue;
                }

                batch.Add(first);
                var deadline = clock.GetUtcNow() + p.MaxBatchWait;
                while (batch.Count < p.MaxBatchSize)
                {
                    var remaining = deadline - clock.GetUtcNow();
                    var next = Consume(consumer, remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, stoppingToken);
                    if (next is null || next.IsPartitionEOF)
                    {
                        break;
                    }

                    batch.Add(next);
                }

                await WriteAsync(consumer, batch, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // A dead letter that cannot be stored must not be skipped: stop the worker loudly.
            logger.LogCritical(ex, "Dead-letter store stopped: {Message}", ex.Message);
            Environment.ExitCode = 3;
            lifetime.StopApplication();
            throw;
        }
        finally
        {
            consumer.Close();
        }
    }

    /// <summary>Waits for the next record (without a timeout: until one comes or the worker stops).</summary>
    private ConsumeResult<byte[]?, byte[]?>? Consume(IConsumer<byte[]?, byte[]?> consumer, TimeSpan? timeout, CancellationToken stoppingToken)
    {
        try
        {
            return timeout is { } t ? consumer.Consume(t) : consumer.Consume(stoppingToken);
        }
        catch (ConsumeException ex) when (ex.Error.Code == ErrorCode.UnknownTopicOrPart && !ex.Error.IsFatal)
        {
            // A configured dead-letter topic that does not exist (yet) holds no dead letters; the others keep flowing.
            logger.LogWarning("Dead-letter topic missing: {Reason}", ex.Error.Reason);
            return null;
        }
    }

    private async Task WriteAsync(IConsumer<byte[]?, byte[]?> consumer, List<ConsumeResult<byte[]?, byte[]?>> batch, CancellationToken stoppingToken)
    {
        // Records of partitions revoked while the batch was collected belong to their new owner now.
        var assigned = consumer.Assignment.ToHashSet();
        batch.RemoveAll(r => !assigned.Contains(r.TopicPartition));
        if (batch.Count == 0)
        {
            return;
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var stored = await writer.WriteAsync(batch, stoppingToken);
                logger.LogDebug("Stored {DeadLetters} dead letters", stored);
                break;
            }
            catch (PartitionOwnershipLostException ex)
            {
                logger.LogWarning("{Message}; re-reading dead-letter positions from PostgreSQL", ex.Message);
                await writer.Offsets.SeekToStoredAsync(consumer, stoppingToken);

                return;
            }
            catch (Npgsql.NpgsqlException ex) when (ex.IsTransient && !stoppingToken.IsCancellationRequested)
            {
                // PostgreSQL blipped: the transaction rolled back as a whole, so writing the same batch again is safe.
                var delay = TimeSpan.FromMilliseconds(Math.Min(5000, 100 * attempt * attempt));
                logger.LogWarning("PostgreSQL write of dead letters failed ({Message}); retrying batch in {Delay}", ex.Message, delay);
                await Task.Delay(delay, clock, stoppingToken);
            }
        }

        var commits = batch.GroupBy(r => r.TopicPartition).Select(g => new TopicPartitionOffset(g.Key, g.Max(r => r.Offset.Value) + 1));
        try
        {
            consumer.Commit(commits);
        }
        catch (KafkaException ex)
        {
            // Positions are already safe in PostgreSQL; the Kafka commit only feeds lag tools.
            logger.LogDebug("Kafka offset commit of dead letters failed: {Reason}", ex.Error.Reason);
        }
    }
}
