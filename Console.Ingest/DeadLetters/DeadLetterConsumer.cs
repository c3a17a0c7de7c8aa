using Confluent.Kafka;
using Microsoft.Extensions.Options;
using OrderFlow.Ingest.Consuming;
using OrderFlow.Ingest.Projection;
using OrderFlow.Platform.Kafka;

namespace OrderFlow.Ingest.DeadLetters;

/// <summary>A batch of dead-letter records, stored as they are.</summary>
public sealed record DeadLetterBatch(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> Records) : IConsumedBatch;

/// <summary>
/// Consumes the dead-letter topics (Kafka:DeadLetterTopics) into dead_letters: a <see cref="PartitionedBatchConsumer{TBatch}"/>
/// with one lane writing through the DeadLetterWriter, exactly once like the projection (decision 0006). A configured
/// topic that does not exist (yet) is reported and the others keep flowing.
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

        // Batched as the projection is (Projection:MaxBatchSize, Projection:MaxBatchWait).
        var p = projection.Value;
        var consumer = new PartitionedBatchConsumer<DeadLetterBatch>(
            new BatchConsumerSettings("Dead-letter store", kafka.Value.BootstrapServers, $"console-dead-letters-{Environment.MachineName}", topics, 1, p.MaxBatchSize, p.MaxBatchWait, MissingTopicsAllowed: true),
            writer.Offsets,
            records => new DeadLetterBatch(records),
            _ => new Lane(writer, logger),
            clock,
            lifetime,
            logger);
        return consumer.RunAsync(stoppingToken);
    }

    private sealed class Lane(DeadLetterWriter writer, ILogger logger) : BatchLane<DeadLetterBatch>
    {
        public override async Task WriteAsync(DeadLetterBatch batch, CancellationToken cancellationToken)
        {
            var stored = await writer.WriteAsync(batch.Records, cancellationToken);
            logger.LogDebug("Stored {DeadLetters} dead letters", stored);
        }
    }
}
