using Confluent.Kafka;
using Microsoft.Extensions.Options;
using OrderFlow.Ingest.Offsets;
using OrderFlow.Platform.Kafka;

namespace OrderFlow.Ingest.Projection;

/// <summary>
/// Consumes the operational topic in batches and hands each batch to the ProjectionWriter.
/// Positions come from PostgreSQL (written with the projection), not from Kafka's committed offsets;
/// the Kafka commit afterwards only keeps lag tools truthful.
/// </summary>
public sealed class OperationalEventConsumer(
    ProjectionWriter writer,
    IOptions<KafkaOptions> kafka,
    IOptions<ProjectionOptions> projection,
    IHostApplicationLifetime lifetime,
    ILogger<OperationalEventConsumer> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var k = kafka.Value;
        var p = projection.Value;
        var config = new ConsumerConfig
        {
            BootstrapServers = k.BootstrapServers,
            GroupId = k.ConsumerGroup,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            SessionTimeoutMs = 10_000,
            ClientId = $"console-ingest-{Environment.MachineName}",
        };

        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetErrorHandler((_, e) => logger.LogWarning("Kafka: {Reason}", e.Reason))
            .SetPartitionsAssignedHandler((c, partitions) => writer.Offsets.ResumePositions(c, partitions, logger, stoppingToken))
            .Build();

        consumer.Subscribe(k.OperationalTopic);
        var batch = new List<ConsumeResult<byte[]?, byte[]?>>(p.MaxBatchSize);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                batch.Clear();
                var first = consumer.Consume(stoppingToken);
                if (first is null || first.IsPartitionEOF)
                {
                    continue;
                }

                batch.Add(first);
                var deadline = DateTime.UtcNow + p.MaxBatchWait;
                while (batch.Count < p.MaxBatchSize)
                {
                    var remaining = deadline - DateTime.UtcNow;
                    var next = consumer.Consume(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
                    if (next is null)
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
            // A failure with nowhere to go stops the worker loudly instead of skipping records.
            logger.LogCritical(ex, "Projection stopped: {Message}", ex.Message);
            Environment.ExitCode = 3;
            lifetime.StopApplication();
            throw;
        }
        finally
        {
            consumer.Close();
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
                var result = await writer.WriteAsync(batch, stoppingToken);
                logger.LogDebug("Projected {Events} events into {Orders} orders ({Quarantined} quarantined)", result.Events, result.Orders, result.Quarantined);
                break;
            }
            catch (PartitionOwnershipLostException ex)
            {
                logger.LogWarning("{Message}; re-reading positions from PostgreSQL", ex.Message);
                await writer.Offsets.SeekToStoredAsync(consumer, stoppingToken);

                return;
            }
            catch (Npgsql.NpgsqlException ex) when (ex.IsTransient && !stoppingToken.IsCancellationRequested)
            {
                // PostgreSQL blipped: the transaction rolled back as a whole, so writing the same batch again is safe.
                var delay = TimeSpan.FromMilliseconds(Math.Min(5000, 100 * attempt * attempt));
                logger.LogWarning("PostgreSQL write failed ({Message}); retrying batch in {Delay}", ex.Message, delay);
                await Task.Delay(delay, stoppingToken);
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
            logger.LogDebug("Kafka offset commit failed: {Reason}", ex.Error.Reason);
        }
    }
}
