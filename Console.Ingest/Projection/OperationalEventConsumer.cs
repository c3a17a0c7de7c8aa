using Microsoft.Extensions.Options;
using Npgsql;
using OrderFlow.Ingest.Consuming;
using OrderFlow.Platform.Kafka;

namespace OrderFlow.Ingest.Projection;

/// <summary>
/// Projects the operational topic into the read model: a <see cref="PartitionedBatchConsumer{TBatch}"/> whose records
/// are parsed on the consume thread and written by <c>Projection:Writers</c> lanes (decision 0010), each with its own
/// cache of folded orders and its own transactions.
/// </summary>
public sealed class OperationalEventConsumer(
    NpgsqlDataSource dataSource,
    ProjectionWriter writer,
    ProjectionMetrics metrics,
    IOptions<KafkaOptions> kafka,
    IOptions<ProjectionOptions> projection,
    TimeProvider clock,
    IHostApplicationLifetime lifetime,
    ILogger<OperationalEventConsumer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var k = kafka.Value;
        var p = projection.Value;
        var refused = new RefusedEvents(dataSource);
        var consumer = new PartitionedBatchConsumer<ParsedBatch>(
            new BatchConsumerSettings("Projection", k.BootstrapServers, $"console-ingest-{Environment.MachineName}", [k.OperationalTopic], p.Writers, p.MaxBatchSize, p.MaxBatchWait),
            writer.Offsets,
            ParsedBatch.Parse,
            _ => new ProjectionLane(writer, refused, (p.CachedOrders + p.Writers - 1) / p.Writers, logger),
            clock,
            lifetime,
            logger,
            metrics);
        await consumer.RunAsync(stoppingToken);
    }
}
