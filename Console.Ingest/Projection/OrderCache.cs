using Confluent.Kafka;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Workflow;

namespace OrderFlow.Ingest.Projection;

/// <summary>An order as the projection holds it between batches: its folded state and the columns the fold does not carry.</summary>
public sealed class CachedOrder(OrderState state, WorkflowVersion workflow, TopicPartition partition, DateTimeOffset firstSeenAt, int flaggedCount, bool stored)
{
    public OrderState State { get; } = state;

    /// <summary>The workflow version the order is judged by: the one in force when it was placed (decision 0022).</summary>
    public WorkflowVersion Workflow { get; } = workflow;

    /// <summary>The partition its events come from (its key's partition): the cache forgets it with that partition.</summary>
    public TopicPartition Partition { get; } = partition;

    public DateTimeOffset FirstSeenAt { get; } = firstSeenAt;

    public int FlaggedCount { get; set; } = flaggedCount;

    /// <summary>Whether its orders row exists (committed), so the batch updates it instead of inserting it.</summary>
    public bool Stored { get; set; } = stored;

    internal LinkedListNode<CachedOrder>? Recent { get; set; }
}

/// <summary>
/// The folded orders of the partitions this instance owns, so a batch does not read them back from PostgreSQL
/// (docs/decisions/0010). Only the projection's writer loop uses it (one batch at a time). Holds in-flight orders
/// up to a capacity, least recently written first out; terminal orders are not kept (their next event is rare).
/// What it holds is only what this instance committed: a rolled-back batch's orders are forgotten, and a
/// partition's orders are dropped whenever it is assigned, revoked or lost, because another instance may write them.
/// </summary>
public sealed class OrderCache(int capacity)
{
    private readonly Dictionary<string, CachedOrder> _orders = new(StringComparer.Ordinal);
    private readonly LinkedList<CachedOrder> _recent = new();

    public int Count => _orders.Count;

    public int Capacity { get; } = capacity;

    public CachedOrder? Find(string orderId) => _orders.GetValueOrDefault(orderId);

    /// <summary>After a commit: the batch's orders as they are now in PostgreSQL.</summary>
    public void Keep(IEnumerable<CachedOrder> committed)
    {
        foreach (var order in committed)
        {
            order.Stored = true;
            if (order.State.IsTerminal || Capacity == 0)
            {
                Remove(order.State.OrderId);
                continue;
            }

            if (order.Recent is { } node && _orders.TryGetValue(order.State.OrderId, out var cached) && ReferenceEquals(cached, order))
            {
                _recent.Remove(node);
                _recent.AddLast(node);
                continue;
            }

            Remove(order.State.OrderId);
            order.Recent = _recent.AddLast(order);
            _orders[order.State.OrderId] = order;
        }

        while (_orders.Count > Capacity && _recent.First is { } oldest)
        {
            Remove(oldest.Value.State.OrderId);
        }
    }

    /// <summary>After a rolled-back batch: its orders were changed in memory only, so they are read again from PostgreSQL.</summary>
    public void Forget(IEnumerable<string> orderIds)
    {
        foreach (var orderId in orderIds)
        {
            Remove(orderId);
        }
    }

    /// <summary>Forgets every order of these partitions (assigned, revoked or lost: another instance may have written them).</summary>
    public void Drop(IReadOnlyCollection<TopicPartition> partitions)
    {
        if (partitions.Count == 0 || _orders.Count == 0)
        {
            return;
        }

        var dropped = partitions.ToHashSet();
        var node = _recent.First;
        while (node is not null)
        {
            var next = node.Next;
            if (dropped.Contains(node.Value.Partition))
            {
                Remove(node.Value.State.OrderId);
            }

            node = next;
        }
    }

    private void Remove(string orderId)
    {
        if (_orders.Remove(orderId, out var order) && order.Recent is { } node)
        {
            _recent.Remove(node);
            order.Recent = null;
        }
    }
}
