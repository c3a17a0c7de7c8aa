using Confluent.Kafka;
using Npgsql;
using OrderFlow.Ingest.Consuming;

namespace OrderFlow.Ingest.Projection;

/// <summary>
/// One writer loop of the projection: the folded orders of its partitions (<see cref="OrderCache"/>) and the connection
/// it keeps from batch to batch. A batch another writer got in the way of is written again; events PostgreSQL refuses
/// go to quarantine and the rest of their batch is written.
/// </summary>
public sealed class ProjectionLane(ProjectionWriter writer, RefusedEvents refusedEvents, int cachedOrders, ILogger logger) : BatchLane<ParsedBatch>
{
    private NpgsqlConnection? _connection;

    public OrderCache Cache { get; } = new(cachedOrders);

    public override async Task WriteAsync(ParsedBatch batch, CancellationToken cancellationToken)
    {
        _connection ??= await writer.OpenConnectionAsync(cancellationToken);
        var result = await writer.WriteAsync(batch, Cache, _connection, cancellationToken);
        logger.LogDebug("Projected {Events} events into {Orders} orders ({Quarantined} quarantined)", result.Events, result.Orders, result.Quarantined);
    }

    public override void Drop(IReadOnlyCollection<TopicPartition> partitions) => Cache.Drop(partitions);

    /// <summary>
    /// Another writer folded events of the same orders (one order on several partitions, or a rebalance in flight):
    /// written again, the batch reads those orders afresh.
    /// </summary>
    public override bool IsRetryable(Exception failure) =>
        failure is OrderWrittenElsewhereException
        || failure is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation, TableName: "orders" };

    /// <summary>A value PostgreSQL cannot take that the codec let through.</summary>
    public override bool IsRefusal(Exception failure) => RefusedEvents.IsDataException(failure);

    public override async Task<ParsedBatch?> QuarantineAsync(ParsedBatch batch, Exception failure, CancellationToken cancellationToken)
    {
        var refused = await refusedEvents.FindAsync(batch, cancellationToken);
        if (refused.Count == 0)
        {
            return null;
        }

        logger.LogWarning("PostgreSQL refused {Count} event(s) of the batch ({Message}); quarantining them and writing the rest",
            refused.Count, (failure as PostgresException)?.MessageText ?? failure.Message);
        return batch.WithQuarantined(refused);
    }

    /// <summary>Whatever failed, the next attempt starts on a fresh connection.</summary>
    public override async ValueTask ResetAsync()
    {
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.DisposeAsync();
        }
    }
}
