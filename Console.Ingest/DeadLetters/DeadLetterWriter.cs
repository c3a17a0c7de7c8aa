using Confluent.Kafka;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using OrderFlow.Ingest.Offsets;
using OrderFlow.Ingest.Projection;
using OrderFlow.Platform.Kafka;
using OrderFlow.Platform.ReadModel;

namespace OrderFlow.Ingest.DeadLetters;

/// <summary>
/// Stores a batch of dead-letter records in dead_letters in one PostgreSQL transaction, together with the
/// next offset of each partition (group "&lt;Kafka:ConsumerGroup&gt;-dead-letters"), so a restart stores each one exactly once.
/// </summary>
public sealed class DeadLetterWriter(NpgsqlDataSource dataSource, IOptions<KafkaOptions> kafka, TimeProvider clock)
{
    public const string GroupSuffix = "-dead-letters";

    /// <summary>The dead-letter consumer group's positions, stored with every batch.</summary>
    public StoredOffsets Offsets { get; } = new(dataSource, kafka.Value.ConsumerGroup + GroupSuffix);

    /// <summary>The consumer group, also the key of this consumer's rows in consumer_offsets.</summary>
    public string Group => Offsets.Group;

    /// <summary>Stores every record as it is (null key or value, any bytes); returns how many were stored.</summary>
    public async Task<int> WriteAsync(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await Offsets.AdvanceAsync(connection, batch, now, cancellationToken);

        await using (var rows = await connection.BeginBinaryImportAsync(
            "copy dead_letters (dlq_topic, dlq_partition, dlq_offset, kafka_timestamp, key, value, headers, source_topic, source_partition, source_offset, error_reason, failed_service, order_id, first_seen_at) from stdin (format binary)",
            cancellationToken))
        {
            foreach (var record in batch)
            {
                var message = record.Message;
                var origin = DeadLetterHeaders.Read(message.Headers);
                await rows.StartRowAsync(cancellationToken);
                await rows.WriteAsync(record.Topic, NpgsqlDbType.Text, cancellationToken);
                await rows.WriteAsync(record.Partition.Value, NpgsqlDbType.Integer, cancellationToken);
                await rows.WriteAsync(record.Offset.Value, NpgsqlDbType.Bigint, cancellationToken);
                await WriteNullableAsync(rows, KafkaTimestamp(message.Timestamp), NpgsqlDbType.TimestampTz, cancellationToken);
                await WriteNullableAsync(rows, message.Key, NpgsqlDbType.Bytea, cancellationToken);
                await WriteNullableAsync(rows, message.Value, NpgsqlDbType.Bytea, cancellationToken);
                await rows.WriteAsync(StoredHeaders.From(message.Headers).ToJson(), NpgsqlDbType.Jsonb, cancellationToken);
                await WriteNullableAsync(rows, origin.SourceTopic, NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(rows, origin.SourcePartition, NpgsqlDbType.Integer, cancellationToken);
                await WriteNullableAsync(rows, origin.SourceOffset, NpgsqlDbType.Bigint, cancellationToken);
                await WriteNullableAsync(rows, origin.ErrorReason, NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(rows, origin.FailedService, NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(rows, DeadLetterHeaders.FindOrderId(message.Key, message.Value), NpgsqlDbType.Text, cancellationToken);
                await rows.WriteAsync(now, NpgsqlDbType.TimestampTz, cancellationToken);
            }

            await rows.CompleteAsync(cancellationToken);
        }

        await new ChangeNotification { DeadLetters = batch.Count }.SendAsync(connection, transaction, cancellationToken);

        await transaction.CommitAsync(cancellationToken);
        return batch.Count;
    }

    private static DateTimeOffset? KafkaTimestamp(Timestamp timestamp) =>
        timestamp.Type == TimestampType.NotAvailable ? null : new DateTimeOffset(timestamp.UtcDateTime);

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type, CancellationToken cancellationToken) =>
        value is null ? importer.WriteNullAsync(cancellationToken) : importer.WriteAsync(value, type, cancellationToken);
}
