using System.Text;
using Confluent.Kafka;
using Npgsql;
using NpgsqlTypes;
using OrderFlow.Platform.ReadModel;

namespace OrderFlow.Ingest.Projection;

/// <summary>The rows a batch adds as they are: order_events (one per folded event) and quarantined_records.</summary>
internal static class EventRows
{
    public const string CopyEventsSql =
        "copy order_events (event_id, order_id, step, service, outcome, reason, occurred_at, ingested_at, topic, partition, \"offset\", flags, trace_id, attributes) from stdin (format binary)";

    private static readonly string[] TraceHeaders = ["traceparent", "correlation-id", "x-correlation-id"];

    /// <summary>The record's trace id: the first of the trace headers it carries (the last value of a repeated one).</summary>
    public static string? TraceId(Headers? headers)
    {
        if (headers is null || headers.Count == 0)
        {
            return null;
        }

        foreach (var name in TraceHeaders)
        {
            if (headers.TryGetLastBytes(name, out var bytes))
            {
                // PostgreSQL text cannot hold NUL: such a header is not a trace id worth refusing the event for.
                return bytes.AsSpan().Contains((byte)0) ? null : Encoding.UTF8.GetString(bytes);
            }
        }

        return null;
    }

    /// <summary>Every record the batch could not use, with why, exactly as it came (key, value and headers byte for byte).</summary>
    public static async Task CopyQuarantinedAsync(NpgsqlConnection connection, IReadOnlyList<QuarantinedRecord> quarantined, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var rows = await connection.BeginBinaryImportAsync(
            "copy quarantined_records (topic, partition, \"offset\", key, value, headers, error, received_at) from stdin (format binary)",
            cancellationToken);
        foreach (var (record, error) in quarantined)
        {
            // Synchronous calls: they only fill Npgsql's buffer (docs/benchmarks.md).
            rows.StartRow();
            rows.Write(record.Topic, NpgsqlDbType.Text);
            rows.Write(record.Partition.Value, NpgsqlDbType.Integer);
            rows.Write(record.Offset.Value, NpgsqlDbType.Bigint);
            WriteNullable(rows, record.Message.Key, NpgsqlDbType.Bytea);
            WriteNullable(rows, record.Message.Value, NpgsqlDbType.Bytea);
            rows.Write(StoredHeaders.From(record.Message.Headers).ToJson(), NpgsqlDbType.Jsonb);
            rows.Write(error, NpgsqlDbType.Text);
            rows.Write(now, NpgsqlDbType.TimestampTz);
        }

        await rows.CompleteAsync(cancellationToken);
    }

    private static void WriteNullable<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type)
    {
        if (value is null)
        {
            importer.WriteNull();
        }
        else
        {
            importer.Write(value, type);
        }
    }
}
