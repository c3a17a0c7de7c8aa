using System.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;
using OrderFlow.Domain.Events;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Workflow;
using OrderFlow.Ingest.Flow;
using OrderFlow.Ingest.Offsets;
using OrderFlow.Ingest.Orders;
using OrderFlow.Ingest.Sla;
using OrderFlow.Platform.Kafka;
using OrderFlow.Platform.ReadModel;
using OrderFlow.Platform.Workflow;

namespace OrderFlow.Ingest.Projection;

public sealed record BatchResult(int Events, int Orders, int Quarantined, int Flagged);

/// <summary>An order the batch folds events into, with the counts its row must still have.</summary>
internal sealed record TouchedOrder(CachedOrder Order, int SeenEventCount, int SeenFlaggedCount);

/// <summary>
/// Orders of the batch changed in PostgreSQL since this writer read or cached them: another writer folded events of the
/// same order (its events on several partitions, or a rebalance in flight). The batch was rolled back; written again, it
/// reads those orders afresh.
/// </summary>
public sealed class OrderWrittenElsewhereException(int orders)
    : Exception($"{orders} order(s) of the batch were changed by another writer; the batch was rolled back");

/// <summary>
/// Folds a batch of operational-topic records into the read model in one PostgreSQL transaction, together with the next
/// offset of each partition, so a restart resumes exactly after the last write: offsets and the orders not in memory in
/// one round trip, the event and quarantine rows, the orders rows (<see cref="OrderRows"/>), then the merge, the flow
/// minutes (decision 0026) and the change notification in one more. The folded orders stay in memory between batches in
/// the caller's <see cref="OrderCache"/> (one per writer loop, one batch at a time each; writer loops own disjoint
/// partitions, so they never share an order).
/// </summary>
public sealed class ProjectionWriter(
    NpgsqlDataSource dataSource,
    WorkflowCatalog workflow,
    IOptions<KafkaOptions> kafka,
    IOptions<AtRiskOptions> atRisk,
    ProjectionMetrics metrics,
    TimeProvider clock)
{
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
            await using var stage = new NpgsqlCommand(OrderRows.CreateStageSql, connection);
            await stage.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
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
        var versions = workflow.Versions;
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
                loaded = await StoredOrders.ReadAsync(reader, versions, cancellationToken);
            }
        }

        metrics.Phase("offsets+load", started);
        started = Stopwatch.GetTimestamp();
        var flaggedTotal = 0;
        var unplanned = new UnplannedStepCounts();
        var flow = new FlowMinuteCounts();
        int fromDatabase = 0, created = 0;
        using (var events = await BinaryCopyRows.BeginAsync(connection, EventRows.CopyEventsSql, cancellationToken))
        {
            foreach (var (record, e) in batch.Events)
            {
                if (!touched.TryGetValue(e.OrderId, out var entry))
                {
                    CachedOrder order;
                    if (loaded.TryGetValue(e.OrderId, out var row))
                    {
                        order = new CachedOrder(row.State, row.Workflow, record.TopicPartition, row.FirstSeenAt, row.FlaggedCount, stored: true);
                        fromDatabase++;
                    }
                    else
                    {
                        // Judged by the version in force when it was placed: its first event's time (never later than now).
                        var placed = versions.At(e.OccurredAt < now ? e.OccurredAt : now);
                        order = new CachedOrder(new OrderState { OrderId = e.OrderId }, placed, record.TopicPartition, now, 0, stored: false);
                        created++;
                    }

                    entry = new TouchedOrder(order, order.State.EventCount, order.FlaggedCount);
                    touched[e.OrderId] = entry;
                }

                var unplannedBefore = entry.Order.State.UnexpectedSteps.Count;
                var definition = entry.Order.Workflow.Definition;
                var flags = entry.Order.State.Apply(definition, e);
                flow.Add(e, flags, entry.Order.State.TimingsKnownBy(definition, e, flags));
                if ((flags & EventFlags.UnplannedStep) != 0)
                {
                    unplanned.Add(e.Step, entry.Order.State.UnexpectedSteps.Count > unplannedBefore);
                }

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
                events.Text(e.Outcome.ToName());
                events.Text(e.Reason);
                events.Timestamp(e.OccurredAt);
                events.Timestamp(now);
                events.Text(record.Topic);
                events.Integer(record.Partition.Value);
                events.Bigint(record.Offset.Value);
                events.TextArray(flags.ToNames());
                events.Text(EventRows.TraceId(record.Message.Headers));
                events.Jsonb(e.AttributesJson);
            }

            await events.CompleteAsync(cancellationToken);
        }

        metrics.Orders("cache", fromCache);
        metrics.Orders("database", fromDatabase);
        metrics.Orders("new", created);
        if (batch.Quarantined.Count > 0)
        {
            await EventRows.CopyQuarantinedAsync(connection, batch.Quarantined, now, cancellationToken);
        }

        metrics.Phase("events", started);
        started = Stopwatch.GetTimestamp();

        // New orders go straight into orders (another writer inserting one meanwhile is a unique violation); known ones
        // through the staging table and the merge.
        var inserted = touched.Values.Where(t => !t.Order.Stored).ToList();
        var updated = touched.Values.Where(t => t.Order.Stored).ToList();
        var share = atRisk.Value.AtRiskShare;
        if (inserted.Count > 0)
        {
            await OrderRows.CopyAsync(connection, inserted, share, now, staged: false, cancellationToken);
        }

        if (updated.Count > 0)
        {
            await OrderRows.CopyAsync(connection, updated, share, now, staged: true, cancellationToken);
        }

        metrics.Phase("orders", started);
        started = Stopwatch.GetTimestamp();

        // One round trip for the rest: the staged orders and the notification.
        await using (var last = new NpgsqlBatch(connection, transaction))
        {
            var merge = OrderRows.Merge();
            if (updated.Count > 0)
            {
                last.BatchCommands.Add(merge);
            }

            if (!unplanned.IsEmpty)
            {
                last.BatchCommands.Add(unplanned.Command(now));
            }

            if (!flow.IsEmpty)
            {
                last.BatchCommands.Add(flow.Command(now));
            }

            last.BatchCommands.Add(new ChangeNotification
            {
                Events = batch.Events.Count, Orders = touched.Count, OrderIds = [.. touched.Keys], Quarantined = batch.Quarantined.Count,
            }.Command());
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
}
