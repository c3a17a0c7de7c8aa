using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
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

    /// <summary>The consumer group, also the key of this consumer's rows in consumer_offsets.</summary>
    public string Group { get; } = kafka.Value.ConsumerGroup + GroupSuffix;

    /// <summary>Stores every record as it is (null key or value, any bytes); returns how many were stored.</summary>
    public async Task<int> WriteAsync(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await AdvanceOffsetsAsync(connection, batch, now, cancellationToken);

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
                await rows.WriteAsync(ProjectionWriter.HeadersJson(message.Headers), NpgsqlDbType.Jsonb, cancellationToken);
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

        await using (var notify = new NpgsqlCommand("select pg_notify(@channel, @payload)", connection))
        {
            notify.Parameters.AddWithValue("channel", ReadModelDb.ChangesChannel);
            notify.Parameters.AddWithValue("payload", JsonSerializer.Serialize(new { events = 0, orders = 0, quarantined = 0, deadLetters = batch.Count }));
            await notify.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return batch.Count;
    }

    /// <summary>The positions this consumer group stored with its last write, per partition.</summary>
    public async Task<IReadOnlyDictionary<TopicPartition, long>> ReadOffsetsAsync(IEnumerable<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        var list = partitions.ToList();
        await using var command = dataSource.CreateCommand(
            "select topic, partition, next_offset from consumer_offsets where consumer_group = @group and topic = any(@topics)");
        command.Parameters.AddWithValue("group", Group);
        command.Parameters.AddWithValue("topics", list.Select(p => p.Topic).Distinct().ToArray());
        var result = new Dictionary<TopicPartition, long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var tp = new TopicPartition(reader.GetString(0), reader.GetInt32(1));
            if (list.Contains(tp))
            {
                result[tp] = reader.GetInt64(2);
            }
        }

        return result;
    }

    /// <summary>Forgets the stored position of a partition whose log was recreated.</summary>
    public async Task ResetOffsetAsync(TopicPartition partition, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("delete from consumer_offsets where consumer_group = @group and topic = @topic and partition = @partition");
        command.Parameters.AddWithValue("group", Group);
        command.Parameters.AddWithValue("topic", partition.Topic);
        command.Parameters.AddWithValue("partition", partition.Partition.Value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task AdvanceOffsetsAsync(NpgsqlConnection connection, IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, DateTimeOffset now, CancellationToken cancellationToken)
    {
        foreach (var partition in batch.GroupBy(r => r.TopicPartition))
        {
            var first = partition.Min(r => r.Offset.Value);
            var next = partition.Max(r => r.Offset.Value) + 1;
            // Guarded like the projection (decision 0006): no row moves when another consumer already stored a later position.
            await using var command = new NpgsqlCommand(
                """
                insert into consumer_offsets (consumer_group, topic, partition, next_offset, updated_at)
                values (@group, @topic, @partition, @next, @now)
                on conflict (consumer_group, topic, partition) do update
                    set next_offset = excluded.next_offset, updated_at = excluded.updated_at
                    where consumer_offsets.next_offset <= @first
                """,
                connection);
            command.Parameters.AddWithValue("group", Group);
            command.Parameters.AddWithValue("topic", partition.Key.Topic);
            command.Parameters.AddWithValue("partition", partition.Key.Partition.Value);
            command.Parameters.AddWithValue("next", next);
            command.Parameters.AddWithValue("first", first);
            command.Parameters.AddWithValue("now", now);
            if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
            {
                throw new PartitionOwnershipLostException(partition.Key);
            }
        }
    }

    private static DateTimeOffset? KafkaTimestamp(Timestamp timestamp) =>
        timestamp.Type == TimestampType.NotAvailable ? null : new DateTimeOffset(timestamp.UtcDateTime);

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type, CancellationToken cancellationToken) =>
        value is null ? importer.WriteNullAsync(cancellationToken) : importer.WriteAsync(value, type, cancellationToken);
}
