using Npgsql;
using OrderFlow.Domain.Events;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Workflow;

namespace OrderFlow.Ingest.Orders;

/// <summary>A stored order read back: its folded state, and the columns of its row the fold does not carry.</summary>
public sealed record StoredOrder(OrderState State, WorkflowVersion Workflow, DateTimeOffset FirstSeenAt, int FlaggedCount);

/// <summary>
/// The read model keeps no folded state (decision 0011): order_events holds every event of an order in the order the
/// projection folded them (its identity column), so folding them again gives the order back. Read for orders not in
/// memory (after a start, an eviction, a partition taken over) and by the SLA watcher for the orders that come due.
/// </summary>
public static class StoredOrders
{
    // Driven by the keys asked for: each is looked up in orders' primary key, then its events through the order_id
    // index, so a batch of new orders costs only the key lookups. "offset 0" keeps each lateral subquery a lookup per
    // key: as plain joins, PostgreSQL planned them by the statistics of a table still growing (right after a start,
    // "286 events per order") and hashed them over a scan of all of order_events or of orders for every batch.
    public const string Sql =
        """
        select o.order_id, o.first_seen_at, o.flagged_count, e.event_id, e.step, e.service, e.outcome, e.reason, e.occurred_at, o.workflow_version
        from unnest(@ids) as k(order_id)
        cross join lateral (
            select y.order_id, y.first_seen_at, y.flagged_count, y.workflow_version from orders y where y.order_id = k.order_id offset 0
        ) o
        cross join lateral (
            select x.id, x.event_id, x.step, x.service, x.outcome, x.reason, x.occurred_at
            from order_events x where x.order_id = o.order_id offset 0
        ) e
        order by o.order_id, e.id
        """;

    /// <summary>These orders, folded again from their events by their own workflow version, inside the caller's transaction.</summary>
    public static async Task<Dictionary<string, StoredOrder>> ReadAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IEnumerable<string> orderIds, WorkflowVersions workflow, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(Sql, connection, transaction);
        command.Parameters.AddWithValue("ids", orderIds.ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await ReadAsync(reader, workflow, cancellationToken);
    }

    public static NpgsqlBatchCommand Command(string[] orderIds)
    {
        var command = new NpgsqlBatchCommand(Sql);
        command.Parameters.AddWithValue("ids", orderIds);
        return command;
    }

    public static async Task<Dictionary<string, StoredOrder>> ReadAsync(NpgsqlDataReader reader, WorkflowVersions workflow, CancellationToken cancellationToken)
    {
        var orders = new Dictionary<string, StoredOrder>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            var orderId = reader.GetString(0);
            if (!orders.TryGetValue(orderId, out var order))
            {
                order = new StoredOrder(new OrderState { OrderId = orderId }, workflow.Find(reader.GetInt32(9)), reader.GetFieldValue<DateTimeOffset>(1), reader.GetInt32(2));
                orders[orderId] = order;
            }

            // The fold reads neither attributes nor the schema version.
            order.State.Apply(order.Workflow.Definition, new OperationalEvent(
                reader.GetGuid(3),
                orderId,
                reader.GetString(4),
                reader.GetString(5),
                reader.GetString(6) == StepOutcomeNames.Succeeded ? StepOutcome.Succeeded : StepOutcome.Failed,
                reader.IsDBNull(7) ? null : reader.GetString(7),
                reader.GetFieldValue<DateTimeOffset>(8),
                OperationalEvent.CurrentSchemaVersion,
                "{}"));
        }

        return orders;
    }
}
