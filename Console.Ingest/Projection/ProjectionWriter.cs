using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using OrderFlow.Domain.Events;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Sla;
using OrderFlow.Domain.Workflow;
using OrderFlow.Ingest.Offsets;
using OrderFlow.Ingest.Sla;
using OrderFlow.Platform.Kafka;
using OrderFlow.Platform.ReadModel;

namespace OrderFlow.Ingest.Projection;

public sealed record BatchResult(int Events, int Orders, int Quarantined, int Flagged);

/// <summary>
/// Folds a batch of operational-topic records into the read model in one PostgreSQL transaction,
/// together with the next offset of each partition, so a restart resumes exactly after the last write.
/// </summary>
public sealed class ProjectionWriter(NpgsqlDataSource dataSource, WorkflowDefinition workflow, IOptions<KafkaOptions> kafka, IOptions<SlaOptions> sla, TimeProvider clock)
{
    /// <summary>The projection's positions, stored with every batch.</summary>
    public StoredOffsets Offsets { get; } = new(dataSource, kafka.Value.ConsumerGroup);

    public async Task<BatchResult> WriteAsync(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var parsed = new List<(ConsumeResult<byte[]?, byte[]?> Record, OperationalEvent Event)>(batch.Count);
        var quarantined = new List<(ConsumeResult<byte[]?, byte[]?> Record, string Error)>();
        foreach (var record in batch)
        {
            if (OperationalEventCodec.TryParse(record.Message.Key, record.Message.Value, out var e, out var error))
            {
                if (workflow.IsKnown(e!.Step))
                {
                    parsed.Add((record, e));
                }
                else
                {
                    quarantined.Add((record, $"unknown step '{e.Step}' (the workflow knows {string.Join(", ", workflow.StepNames)})"));
                }
            }
            else
            {
                quarantined.Add((record, error));
            }
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await Offsets.AdvanceAsync(connection, batch, now, cancellationToken);
        var orders = await LoadOrdersAsync(connection, parsed.Select(p => p.Event.OrderId).Distinct().ToArray(), cancellationToken);

        var flaggedTotal = 0;
        await using (var events = await connection.BeginBinaryImportAsync(
            "copy order_events (event_id, order_id, step, service, outcome, reason, occurred_at, ingested_at, topic, partition, \"offset\", flags, trace_id, attributes) from stdin (format binary)",
            cancellationToken))
        {
            foreach (var (record, e) in parsed)
            {
                if (!orders.TryGetValue(e.OrderId, out var order))
                {
                    order = new LoadedOrder(new OrderState { OrderId = e.OrderId }, now, 0);
                    orders[e.OrderId] = order;
                }

                var flags = order.State.Apply(workflow, e);
                order.Touched = true;
                if (flags != EventFlags.None)
                {
                    order.FlaggedCount++;
                    flaggedTotal++;
                }

                await events.StartRowAsync(cancellationToken);
                await events.WriteAsync(e.EventId, NpgsqlDbType.Uuid, cancellationToken);
                await events.WriteAsync(e.OrderId, NpgsqlDbType.Text, cancellationToken);
                await events.WriteAsync(e.Step, NpgsqlDbType.Text, cancellationToken);
                await events.WriteAsync(e.Service, NpgsqlDbType.Text, cancellationToken);
                await events.WriteAsync(e.Outcome == StepOutcome.Succeeded ? "succeeded" : "failed", NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(events, e.Reason, NpgsqlDbType.Text, cancellationToken);
                await events.WriteAsync(e.OccurredAt, NpgsqlDbType.TimestampTz, cancellationToken);
                await events.WriteAsync(now, NpgsqlDbType.TimestampTz, cancellationToken);
                await events.WriteAsync(record.Topic, NpgsqlDbType.Text, cancellationToken);
                await events.WriteAsync(record.Partition.Value, NpgsqlDbType.Integer, cancellationToken);
                await events.WriteAsync(record.Offset.Value, NpgsqlDbType.Bigint, cancellationToken);
                await events.WriteAsync(flags.ToNames(), NpgsqlDbType.Array | NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(events, TraceId(record.Message.Headers), NpgsqlDbType.Text, cancellationToken);
                await events.WriteAsync(e.AttributesJson, NpgsqlDbType.Jsonb, cancellationToken);
            }

            await events.CompleteAsync(cancellationToken);
        }

        if (quarantined.Count > 0)
        {
            await using var rows = await connection.BeginBinaryImportAsync(
                "copy quarantined_records (topic, partition, \"offset\", key, value, headers, error, received_at) from stdin (format binary)",
                cancellationToken);
            foreach (var (record, error) in quarantined)
            {
                await rows.StartRowAsync(cancellationToken);
                await rows.WriteAsync(record.Topic, NpgsqlDbType.Text, cancellationToken);
                await rows.WriteAsync(record.Partition.Value, NpgsqlDbType.Integer, cancellationToken);
                await rows.WriteAsync(record.Offset.Value, NpgsqlDbType.Bigint, cancellationToken);
                await WriteNullableAsync(rows, record.Message.Key, NpgsqlDbType.Bytea, cancellationToken);
                await WriteNullableAsync(rows, record.Message.Value, NpgsqlDbType.Bytea, cancellationToken);
                await rows.WriteAsync(HeadersJson(record.Message.Headers), NpgsqlDbType.Jsonb, cancellationToken);
                await rows.WriteAsync(error, NpgsqlDbType.Text, cancellationToken);
                await rows.WriteAsync(now, NpgsqlDbType.TimestampTz, cancellationToken);
            }

            await rows.CompleteAsync(cancellationToken);
        }

        var touched = orders.Values.Where(o => o.Touched).ToList();
        await UpsertOrdersAsync(connection, touched, now, cancellationToken);

        await using (var notify = new NpgsqlCommand("select pg_notify(@channel, @payload)", connection))
        {
            notify.Parameters.AddWithValue("channel", ReadModelDb.ChangesChannel);
            notify.Parameters.AddWithValue("payload", JsonSerializer.Serialize(new { events = parsed.Count, orders = touched.Count, quarantined = quarantined.Count }));
            await notify.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return new BatchResult(parsed.Count, touched.Count, quarantined.Count, flaggedTotal);
    }

    private static async Task<Dictionary<string, LoadedOrder>> LoadOrdersAsync(NpgsqlConnection connection, string[] orderIds, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, LoadedOrder>(orderIds.Length);
        if (orderIds.Length == 0)
        {
            return result;
        }

        await using var command = new NpgsqlCommand("select order_id, state, first_seen_at, flagged_count from orders where order_id = any(@ids)", connection);
        command.Parameters.AddWithValue("ids", orderIds);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result[reader.GetString(0)] = new LoadedOrder(OrderStateJson.Read(reader.GetString(1)), reader.GetFieldValue<DateTimeOffset>(2), reader.GetInt32(3));
        }

        return result;
    }

    private async Task UpsertOrdersAsync(NpgsqlConnection connection, List<LoadedOrder> orders, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (orders.Count == 0)
        {
            return;
        }

        await using (var stage = new NpgsqlCommand("create temp table if not exists orders_stage (like orders) on commit delete rows", connection))
        {
            await stage.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var copy = await connection.BeginBinaryImportAsync(
            "copy orders_stage (order_id, status, positions, last_step, last_failure, placed_at, last_event_at, first_seen_at, updated_at, event_count, flagged_count, state, sla_state, sla_scope, sla_at_risk_at, sla_due_at) from stdin (format binary)",
            cancellationToken))
        {
            foreach (var order in orders)
            {
                var s = order.State;
                var failure = s.OpenFailure();
                await copy.StartRowAsync(cancellationToken);
                await copy.WriteAsync(s.OrderId, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(StatusName(s.Status), NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(s.Positions(workflow).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(copy, s.LastStep, NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(copy, failure is { } f ? $"{f.Step}: {f.Reason ?? "failed"}" : null, NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(copy, s.PlacedAt, NpgsqlDbType.TimestampTz, cancellationToken);
                await copy.WriteAsync(s.LastEventAt, NpgsqlDbType.TimestampTz, cancellationToken);
                await copy.WriteAsync(order.FirstSeenAt, NpgsqlDbType.TimestampTz, cancellationToken);
                await copy.WriteAsync(now, NpgsqlDbType.TimestampTz, cancellationToken);
                await copy.WriteAsync(s.EventCount, NpgsqlDbType.Integer, cancellationToken);
                await copy.WriteAsync(order.FlaggedCount, NpgsqlDbType.Integer, cancellationToken);
                await copy.WriteAsync(OrderStateJson.Write(s), NpgsqlDbType.Jsonb, cancellationToken);
                var clocks = SlaEvaluation.Clocks(s, workflow);
                var share = sla.Value.AtRiskShare;
                // Never "breached" here: the SLA watcher declares breaches, so each one is recorded (and expired) exactly once.
                var worst = clocks.Select(c => c.StateAt(now, share)).DefaultIfEmpty(SlaState.OnTrack).Max() >= SlaState.AtRisk ? SlaState.AtRisk : SlaState.OnTrack;
                var next = clocks.MinBy(c => c.DueAt);
                await copy.WriteAsync(SlaStateName(worst), NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(copy, next?.Scope, NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(copy, clocks.Count == 0 ? (DateTimeOffset?)null : clocks.Min(c => c.AtRiskAt(share)), NpgsqlDbType.TimestampTz, cancellationToken);
                await WriteNullableAsync(copy, next?.DueAt, NpgsqlDbType.TimestampTz, cancellationToken);
            }

            await copy.CompleteAsync(cancellationToken);
        }

        await using var merge = new NpgsqlCommand(
            """
            insert into orders select * from orders_stage
            on conflict (order_id) do update set
                status = excluded.status, positions = excluded.positions, last_step = excluded.last_step,
                last_failure = excluded.last_failure, placed_at = excluded.placed_at, last_event_at = excluded.last_event_at,
                updated_at = excluded.updated_at, event_count = excluded.event_count, flagged_count = excluded.flagged_count,
                state = excluded.state, sla_state = excluded.sla_state, sla_scope = excluded.sla_scope,
                sla_at_risk_at = excluded.sla_at_risk_at, sla_due_at = excluded.sla_due_at
            """,
            connection);
        await merge.ExecuteNonQueryAsync(cancellationToken);
    }

    public static string StatusName(OrderStatus status) => status switch
    {
        OrderStatus.InProgress => "in-progress",
        OrderStatus.Completed => "completed",
        OrderStatus.Expired => "expired",
        OrderStatus.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "unknown order status"),
    };

    public static string SlaStateName(SlaState state) => state switch
    {
        SlaState.OnTrack => "on-track",
        SlaState.AtRisk => "at-risk",
        SlaState.Breached => "breached",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "unknown SLA state"),
    };

    private static string? TraceId(Headers? headers)
    {
        if (headers is null)
        {
            return null;
        }

        foreach (var name in new[] { "traceparent", "correlation-id", "x-correlation-id" })
        {
            if (headers.TryGetLastBytes(name, out var bytes))
            {
                return Encoding.UTF8.GetString(bytes);
            }
        }

        return null;
    }

    /// <summary>Headers as [{"key":..., "value": base64}] so the bytes survive untouched.</summary>
    public static string HeadersJson(Headers? headers) =>
        JsonSerializer.Serialize((headers ?? []).Select(h => new { key = h.Key, value = h.GetValueBytes() is { } v ? Convert.ToBase64String(v) : null }));

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type, CancellationToken cancellationToken) =>
        value is null ? importer.WriteNullAsync(cancellationToken) : importer.WriteAsync(value, type, cancellationToken);

    private sealed class LoadedOrder(OrderState state, DateTimeOffset firstSeenAt, int flaggedCount)
    {
        public OrderState State { get; } = state;

        public DateTimeOffset FirstSeenAt { get; } = firstSeenAt;

        public int FlaggedCount { get; set; } = flaggedCount;

        public bool Touched { get; set; }
    }
}
