using System.Diagnostics;
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
/// Orders of the batch changed in PostgreSQL since this writer read or cached them: another writer folded events of the
/// same order (its events on several partitions, or a rebalance in flight). The batch was rolled back; written again, it
/// reads those orders afresh.
/// </summary>
public sealed class OrderWrittenElsewhereException(int orders)
    : Exception($"{orders} order(s) of the batch were changed by another writer; the batch was rolled back");

/// <summary>
/// Folds a batch of operational-topic records into the read model in one PostgreSQL transaction,
/// together with the next offset of each partition, so a restart resumes exactly after the last write.
/// The folded orders stay in memory between batches in the caller's <see cref="OrderCache"/> (one per writer loop,
/// one batch at a time each; writer loops own disjoint partitions, so they never share an order).
/// </summary>
public sealed class ProjectionWriter(
    NpgsqlDataSource dataSource,
    WorkflowDefinition workflow,
    IOptions<KafkaOptions> kafka,
    IOptions<SlaOptions> sla,
    ProjectionMetrics metrics,
    TimeProvider clock)
{
    // The columns of an orders row this writer sets: a new order's row is copied whole; a known order's row through the
    // staging table, which leaves out what never changes (first_seen_at) and holds its step arrays only once it finished.
    private const string NewOrderColumns =
        "order_id, status, positions, last_step, last_failure, placed_at, last_event_at, updated_at, event_count, flagged_count, sla_state, sla_scope, sla_at_risk_at, sla_due_at, step_names, step_ready_at, step_succeeded_at, first_seen_at, sla_watch_at";

    private const string StagedOrderColumns =
        "order_id, status, positions, last_step, last_failure, placed_at, last_event_at, updated_at, event_count, flagged_count, sla_state, sla_scope, sla_at_risk_at, sla_due_at, step_names, step_ready_at, step_succeeded_at, seen_event_count, seen_flagged_count";

    /// <summary>The projection's positions, stored with every batch.</summary>
    public StoredOffsets Offsets { get; } = new(dataSource, kafka.Value.ConsumerGroup);

    /// <summary>
    /// A connection a writer loop keeps from batch to batch (no pool reset per batch), with the staging table for
    /// updates of orders already in the read model. Replace it after any failure.
    /// </summary>
    public async Task<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            // Step arrays null while the order is in flight: the merge keeps the row's (empty) ones.
            await using var stage = new NpgsqlCommand(
                """
                create temp table if not exists orders_stage (
                    order_id text not null, status text not null, positions text[] not null, last_step text, last_failure text,
                    placed_at timestamptz, last_event_at timestamptz not null, updated_at timestamptz not null,
                    event_count integer not null, flagged_count integer not null, sla_state text not null, sla_scope text,
                    sla_at_risk_at timestamptz, sla_due_at timestamptz,
                    step_names text[], step_ready_at timestamptz[], step_succeeded_at timestamptz[],
                    seen_event_count integer not null, seen_flagged_count integer not null
                ) on commit delete rows
                """,
                connection);
            await stage.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The workflow's steps and what each runs after, into workflow_steps: the order_steps view derives an in-flight
    /// order's step times from its events with them (decision 0014). Idempotent; instances with the same workflow agree.
    /// </summary>
    public async Task StoreWorkflowAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection, transaction);
        var remove = new NpgsqlBatchCommand("delete from workflow_steps where step <> all(@steps)");
        remove.Parameters.AddWithValue("steps", workflow.Steps.Select(s => s.Name).ToArray());
        batch.BatchCommands.Add(remove);
        for (var i = 0; i < workflow.Steps.Count; i++)
        {
            var store = new NpgsqlBatchCommand(
                "insert into workflow_steps (step, position, after) values (@step, @position, @after) on conflict (step) do update set position = excluded.position, after = excluded.after");
            store.Parameters.AddWithValue("step", workflow.Steps[i].Name);
            store.Parameters.AddWithValue("position", i);
            store.Parameters.AddWithValue("after", workflow.Steps[i].After.ToArray());
            batch.BatchCommands.Add(store);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<BatchResult> WriteAsync(ParsedBatch batch, OrderCache cache, NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var touched = new Dictionary<string, TouchedOrder>(batch.Events.Count, StringComparer.Ordinal);
        try
        {
            var result = await WriteAsync(batch, cache, connection, touched, clock.GetUtcNow(), cancellationToken);
            cache.Keep(touched.Values.Select(t => t.Order));
            return result;
        }
        catch
        {
            // Rolled back (or not known to be committed): the folded states changed in memory only.
            cache.Forget(touched.Keys);
            throw;
        }
    }

    private async Task<BatchResult> WriteAsync(
        ParsedBatch batch, OrderCache cache, NpgsqlConnection connection, Dictionary<string, TouchedOrder> touched, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // The batch's orders held in memory join it now; the others are read from PostgreSQL (or are new).
        var missing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (_, e) in batch.Events)
        {
            if (!touched.ContainsKey(e.OrderId) && !missing.Contains(e.OrderId))
            {
                if (cache.Find(e.OrderId) is { } cached)
                {
                    touched[e.OrderId] = new TouchedOrder(cached, cached.State.EventCount, cached.FlaggedCount);
                }
                else
                {
                    missing.Add(e.OrderId);
                }
            }
        }

        var fromCache = touched.Count;

        // One round trip: the guarded offset advance (which locks the partitions) and the orders not in memory.
        var loaded = new Dictionary<string, StoredOrder>(StringComparer.Ordinal);
        await using (var first = new NpgsqlBatch(connection, transaction))
        {
            first.BatchCommands.Add(Offsets.Advance(batch.Records, now, out var partitions));
            if (missing.Count > 0)
            {
                first.BatchCommands.Add(StoredOrders.Command([.. missing]));
            }

            await using var reader = await first.ExecuteReaderAsync(cancellationToken);
            await StoredOffsets.EnsureAdvancedAsync(reader, partitions, cancellationToken);
            if (missing.Count > 0 && await reader.NextResultAsync(cancellationToken))
            {
                loaded = await StoredOrders.ReadAsync(reader, workflow, cancellationToken);
            }
        }

        metrics.Phase("offsets+load", started);
        started = Stopwatch.GetTimestamp();
        var flaggedTotal = 0;
        int fromDatabase = 0, created = 0;
        using (var events = await BinaryCopyRows.BeginAsync(
            connection,
            "copy order_events (event_id, order_id, step, service, outcome, reason, occurred_at, ingested_at, topic, partition, \"offset\", flags, trace_id, attributes) from stdin (format binary)",
            cancellationToken))
        {
            foreach (var (record, e) in batch.Events)
            {
                if (!touched.TryGetValue(e.OrderId, out var entry))
                {
                    CachedOrder order;
                    if (loaded.TryGetValue(e.OrderId, out var row))
                    {
                        order = new CachedOrder(row.State, record.TopicPartition, row.FirstSeenAt, row.FlaggedCount, stored: true);
                        fromDatabase++;
                    }
                    else
                    {
                        order = new CachedOrder(new OrderState { OrderId = e.OrderId }, record.TopicPartition, now, 0, stored: false);
                        created++;
                    }

                    entry = new TouchedOrder(order, order.State.EventCount, order.FlaggedCount);
                    touched[e.OrderId] = entry;
                }

                var flags = entry.Order.State.Apply(workflow, e);
                if (flags != EventFlags.None)
                {
                    entry.Order.FlaggedCount++;
                    flaggedTotal++;
                }

                events.StartRow(14);
                events.Uuid(e.EventId);
                events.Text(e.OrderId);
                events.Text(e.Step);
                events.Text(e.Service);
                events.Text(e.Outcome == StepOutcome.Succeeded ? "succeeded" : "failed");
                events.Text(e.Reason);
                events.Timestamp(e.OccurredAt);
                events.Timestamp(now);
                events.Text(record.Topic);
                events.Integer(record.Partition.Value);
                events.Bigint(record.Offset.Value);
                events.TextArray(flags.ToNames());
                events.Text(TraceId(record.Message.Headers));
                events.Jsonb(e.AttributesJson);
            }

            await events.CompleteAsync(cancellationToken);
        }

        metrics.Orders("cache", fromCache);
        metrics.Orders("database", fromDatabase);
        metrics.Orders("new", created);
        if (batch.Quarantined.Count > 0)
        {
            await using var rows = await connection.BeginBinaryImportAsync(
                "copy quarantined_records (topic, partition, \"offset\", key, value, headers, error, received_at) from stdin (format binary)",
                cancellationToken);
            foreach (var (record, error) in batch.Quarantined)
            {
                rows.StartRow();
                rows.Write(record.Topic, NpgsqlDbType.Text);
                rows.Write(record.Partition.Value, NpgsqlDbType.Integer);
                rows.Write(record.Offset.Value, NpgsqlDbType.Bigint);
                WriteNullable(rows, record.Message.Key, NpgsqlDbType.Bytea);
                WriteNullable(rows, record.Message.Value, NpgsqlDbType.Bytea);
                rows.Write(HeadersJson(record.Message.Headers), NpgsqlDbType.Jsonb);
                rows.Write(error, NpgsqlDbType.Text);
                rows.Write(now, NpgsqlDbType.TimestampTz);
            }

            await rows.CompleteAsync(cancellationToken);
        }

        metrics.Phase("events", started);
        started = Stopwatch.GetTimestamp();

        // New orders go straight into orders (another writer inserting one meanwhile is a unique violation); known ones
        // through a staging table and one update that only touches rows still as this writer last saw them. That update
        // keeps the watch time unless the deadline came earlier, so an order moving on changes no indexed column and
        // PostgreSQL rewrites its row in place without new index entries (a heap-only update, decision 0013).
        var inserted = touched.Values.Where(t => !t.Order.Stored).ToList();
        var updated = touched.Values.Where(t => t.Order.Stored).ToList();
        if (inserted.Count > 0)
        {
            await CopyOrdersAsync(connection, inserted, now, staged: false, cancellationToken);
        }

        if (updated.Count > 0)
        {
            await CopyOrdersAsync(connection, updated, now, staged: true, cancellationToken);
        }

        metrics.Phase("orders", started);
        started = Stopwatch.GetTimestamp();

        // One round trip for the rest: the staged orders and the notification.
        await using (var last = new NpgsqlBatch(connection, transaction))
        {
            var merge = new NpgsqlBatchCommand(
                """
                update orders o set
                    status = s.status, positions = s.positions, last_step = s.last_step, last_failure = s.last_failure,
                    placed_at = s.placed_at, last_event_at = s.last_event_at, updated_at = s.updated_at,
                    event_count = s.event_count, flagged_count = s.flagged_count, sla_state = s.sla_state,
                    sla_scope = s.sla_scope, sla_at_risk_at = s.sla_at_risk_at, sla_due_at = s.sla_due_at,
                    step_names = coalesce(s.step_names, o.step_names), step_ready_at = coalesce(s.step_ready_at, o.step_ready_at),
                    step_succeeded_at = coalesce(s.step_succeeded_at, o.step_succeeded_at),
                    sla_watch_at = case
                        when s.sla_due_at is null then null
                        when o.sla_watch_at <= s.sla_due_at then o.sla_watch_at
                        else s.sla_due_at end
                from orders_stage s
                where o.order_id = s.order_id and o.event_count = s.seen_event_count and o.flagged_count = s.seen_flagged_count
                """);
            if (updated.Count > 0)
            {
                last.BatchCommands.Add(merge);
            }

            var notify = new NpgsqlBatchCommand("select pg_notify(@channel, @payload)");
            notify.Parameters.AddWithValue("channel", ReadModelDb.ChangesChannel);
            notify.Parameters.AddWithValue("payload", JsonSerializer.Serialize(new { events = batch.Events.Count, orders = touched.Count, quarantined = batch.Quarantined.Count }));
            last.BatchCommands.Add(notify);
            await last.ExecuteNonQueryAsync(cancellationToken);
            if (updated.Count > 0 && merge.RecordsAffected != updated.Count)
            {
                // Every folded event raises event_count or flagged_count: a row that moved was written by someone else.
                throw new OrderWrittenElsewhereException(updated.Count - merge.RecordsAffected);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        metrics.Phase("commit", started);
        return new BatchResult(batch.Events.Count, touched.Count, batch.Quarantined.Count, flaggedTotal);
    }

    private async Task CopyOrdersAsync(NpgsqlConnection connection, List<TouchedOrder> orders, DateTimeOffset now, bool staged, CancellationToken cancellationToken)
    {
        var share = sla.Value.AtRiskShare;
        using var rows = await BinaryCopyRows.BeginAsync(
            connection,
            staged
                ? $"copy orders_stage ({StagedOrderColumns}) from stdin (format binary)"
                : $"copy orders ({NewOrderColumns}) from stdin (format binary)",
            cancellationToken);
        foreach (var touched in orders)
        {
            var order = touched.Order;
            var s = order.State;
            var failure = s.OpenFailure();
            rows.StartRow(19);
            rows.Text(s.OrderId);
            rows.Text(StatusName(s.Status));
            var positions = s.Positions(workflow);
            rows.TextArray(positions);
            rows.Text(s.LastStep);
            rows.Text(failure is { } f ? $"{f.Step}: {f.Reason ?? "failed"}" : null);
            rows.Timestamp(s.PlacedAt);
            rows.Timestamp(s.LastEventAt);
            rows.Timestamp(now);
            rows.Integer(s.EventCount);
            rows.Integer(order.FlaggedCount);

            // Never "breached" here: the SLA watcher declares breaches, so each one is recorded (and expired) exactly once.
            // Loops, not queries: this runs for every order of every batch.
            var atRisk = false;
            SlaClock? next = null;
            DateTimeOffset? atRiskAt = null;
            foreach (var clock in SlaEvaluation.Clocks(s, workflow, positions))
            {
                atRisk |= clock.StateAt(now, share) >= SlaState.AtRisk;
                next = next is null || clock.DueAt < next.DueAt ? clock : next;
                var turns = clock.AtRiskAt(share);
                atRiskAt = atRiskAt is null || turns < atRiskAt ? turns : atRiskAt;
            }

            rows.Text(SlaStateName(atRisk ? SlaState.AtRisk : SlaState.OnTrack));
            rows.Text(next?.Scope);
            rows.Timestamp(atRiskAt);
            rows.Timestamp(next?.DueAt);

            // Step times go on the row once the order has finished; until then order_steps reads them from its events
            // (decision 0014), so that moving an order on rewrites a narrow row: a new row gets empty arrays, a staged one
            // none (the merge keeps the row's).
            if (s.IsTerminal)
            {
                var steps = s.StepTimings(workflow);
                var (names, readyAt, succeededAt) = (new string[steps.Count], new DateTimeOffset?[steps.Count], new DateTimeOffset[steps.Count]);
                for (var i = 0; i < steps.Count; i++)
                {
                    (names[i], readyAt[i], succeededAt[i]) = (steps[i].Step, steps[i].ReadyAt, steps[i].SucceededAt);
                }

                rows.TextArray(names);
                rows.TimestampArray(readyAt);
                rows.TimestampArray(succeededAt);
            }
            else if (staged)
            {
                rows.Null();
                rows.Null();
                rows.Null();
            }
            else
            {
                rows.TextArray([]);
                rows.TimestampArray(Array.Empty<DateTimeOffset>());
                rows.TimestampArray(Array.Empty<DateTimeOffset>());
            }

            if (staged)
            {
                rows.Integer(touched.SeenEventCount);
                rows.Integer(touched.SeenFlaggedCount);
            }
            else
            {
                rows.Timestamp(order.FirstSeenAt);
                rows.Timestamp(next?.DueAt);
            }
        }

        await rows.CompleteAsync(cancellationToken);
    }

    /// <summary>
    /// After PostgreSQL refused a batch's data (SQLSTATE class 22, for example a value its text or jsonb cannot hold
    /// that the codec let through): each event's values offered to PostgreSQL on their own, as the batch writes them;
    /// the events it refuses, with its reason. Slow (one round trip per event), and only on that path.
    /// </summary>
    public async Task<List<(ParsedEvent Event, string Error)>> FindRefusedAsync(ParsedBatch batch, CancellationToken cancellationToken)
    {
        var refused = new List<(ParsedEvent, string)>();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var check = new NpgsqlCommand(
            "select @order_id::text, @step::text, @service::text, @reason::text, @trace_id::text, @attributes::jsonb", connection);
        var parameters = new[] { "order_id", "step", "service", "reason", "trace_id", "attributes" }
            .Select(name => check.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Text))).ToArray();
        foreach (var parsed in batch.Events)
        {
            var (record, e) = parsed;
            object?[] values = [e.OrderId, e.Step, e.Service, e.Reason, TraceId(record.Message.Headers), e.AttributesJson];
            for (var i = 0; i < values.Length; i++)
            {
                parameters[i].Value = values[i] ?? DBNull.Value;
            }

            try
            {
                await check.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException ex) when (IsDataException(ex))
            {
                refused.Add((parsed, $"PostgreSQL refused the event: {ex.MessageText}{(ex.Detail is { Length: > 0 } detail ? $" ({detail})" : "")}"));
            }
        }

        return refused;
    }

    /// <summary>SQLSTATE class 22: a value PostgreSQL cannot take (not a fault of the connection or the server).</summary>
    public static bool IsDataException(PostgresException ex) => ex.SqlState.StartsWith("22", StringComparison.Ordinal);

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

    private static readonly string[] TraceHeaders = ["traceparent", "correlation-id", "x-correlation-id"];

    private static string? TraceId(Headers? headers)
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

    /// <summary>Headers as [{"key":..., "value": base64}] so the bytes survive untouched.</summary>
    public static string HeadersJson(Headers? headers) =>
        JsonSerializer.Serialize((headers ?? []).Select(h => new { key = h.Key, value = h.GetValueBytes() is { } v ? Convert.ToBase64String(v) : null }));

    // Rows are written with the synchronous calls: they only fill Npgsql's buffer (a flush to the local socket now and
    // then), and an awaited call per column cost more CPU than the rest of the COPY (measured, docs/benchmarks.md).
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

    /// <summary>An order the batch folds events into, with the counts its row must still have.</summary>
    private sealed record TouchedOrder(CachedOrder Order, int SeenEventCount, int SeenFlaggedCount);
}
