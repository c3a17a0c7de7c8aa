using Npgsql;
using OrderFlow.Domain.Events;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Workflow;

namespace OrderFlow.Ingest.Projection;

/// <summary>A stored order read back: its folded state, and the columns of its row the fold does not carry.</summary>
public sealed record StoredOrder(OrderState State, DateTimeOffset FirstSeenAt, int FlaggedCount);

/// <summary>
/// The read model keeps no folded state (decision 0011): order_events holds every event of an order in the order the
/// projection folded them (its identity column), so folding them again gives the order back. Both sides are filtered
/// by the ids and sorted by order first, so PostgreSQL walks the order_id indexes of both tables (ordered by id alone,
/// it may walk all of order_events in id order instead). Read for orders not in
/// memory (after a start, an eviction, a partition taken over) and by the SLA watcher for the orders that come due.
/// </summary>
public static class StoredOrders
{
    public const string Sql =
        """
        select o.order_id, o.first_seen_at, o.flagged_count, e.event_id, e.step, e.service, e.outcome, e.reason, e.occurred_at
        from orders o join order_events e on e.order_id = o.order_id
        where o.order_id = any(@ids) and e.order_id = any(@ids)
        order by e.order_id, e.id
        """;

    public static NpgsqlBatchCommand Command(string[] orderIds)
    {
        var command = new NpgsqlBatchCommand(Sql);
        command.Parameters.AddWithValue("ids", orderIds);
        return command;
    }

    public static async Task<Dictionary<string, StoredOrder>> ReadAsync(NpgsqlDataReader reader, WorkflowDefinition workflow, CancellationToken cancellationToken)
    {
        var orders = new Dictionary<string, StoredOrder>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            var orderId = reader.GetString(0);
            if (!orders.TryGetValue(orderId, out var order))
            {
                order = new StoredOrder(new OrderState { OrderId = orderId }, reader.GetFieldValue<DateTimeOffset>(1), reader.GetInt32(2));
                orders[orderId] = order;
            }

            // The fold reads neither attributes nor the schema version.
            order.State.Apply(workflow, new OperationalEvent(
                reader.GetGuid(3),
                orderId,
                reader.GetString(4),
                reader.GetString(5),
                reader.GetString(6) == "succeeded" ? StepOutcome.Succeeded : StepOutcome.Failed,
                reader.IsDBNull(7) ? null : reader.GetString(7),
                reader.GetFieldValue<DateTimeOffset>(8),
                OperationalEvent.CurrentSchemaVersion,
                "{}"));
        }

        return orders;
    }
}
