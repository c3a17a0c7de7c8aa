using Confluent.Kafka;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Workflow;
using OrderFlow.Ingest.Projection;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Projection;

/// <summary>The rules of the projection's in-memory orders, without infrastructure.</summary>
public sealed class OrderCacheTests
{
    private static readonly TopicPartition P0 = new(KafkaBroker.OperationalTopic, 0);
    private static readonly TopicPartition P1 = new(KafkaBroker.OperationalTopic, 1);

    [Fact]
    public void Committed_in_flight_orders_are_kept_and_marked_stored()
    {
        var cache = new OrderCache(10);
        var order = InFlight("ORD-1", P0);

        cache.Keep([order]);

        Assert.Same(order, cache.Find("ORD-1"));
        Assert.True(order.Stored);
    }

    [Fact]
    public void Terminal_orders_are_not_kept()
    {
        var cache = new OrderCache(10);
        var order = InFlight("ORD-1", P0);
        cache.Keep([order]);
        foreach (var e in Events.HappyPath("ORD-1").Skip(1))
        {
            order.State.Apply(WorkflowDefinition.Default, e);
        }

        cache.Keep([order]);

        Assert.Null(cache.Find("ORD-1"));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Beyond_its_capacity_the_least_recently_written_order_goes_first()
    {
        var cache = new OrderCache(2);
        var first = InFlight("ORD-1", P0);
        var second = InFlight("ORD-2", P0);
        cache.Keep([first, second]);
        cache.Keep([first]);

        cache.Keep([InFlight("ORD-3", P0)]);

        Assert.Equal(2, cache.Count);
        Assert.NotNull(cache.Find("ORD-1"));
        Assert.Null(cache.Find("ORD-2"));
        Assert.NotNull(cache.Find("ORD-3"));
    }

    [Fact]
    public void Capacity_zero_keeps_nothing()
    {
        var cache = new OrderCache(0);

        cache.Keep([InFlight("ORD-1", P0)]);

        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Forgotten_orders_are_read_again()
    {
        var cache = new OrderCache(10);
        cache.Keep([InFlight("ORD-1", P0), InFlight("ORD-2", P0)]);

        cache.Forget(["ORD-1", "ORD-9"]);

        Assert.Null(cache.Find("ORD-1"));
        Assert.NotNull(cache.Find("ORD-2"));
    }

    [Fact]
    public void Dropping_a_partition_forgets_its_orders_only()
    {
        var cache = new OrderCache(10);
        cache.Keep([InFlight("ORD-1", P0), InFlight("ORD-2", P1), InFlight("ORD-3", P0)]);

        cache.Drop([P0]);

        Assert.Null(cache.Find("ORD-1"));
        Assert.Null(cache.Find("ORD-3"));
        Assert.NotNull(cache.Find("ORD-2"));
        Assert.Equal(1, cache.Count);
    }

    private static CachedOrder InFlight(string orderId, TopicPartition partition)
    {
        var state = new OrderState { OrderId = orderId };
        state.Apply(WorkflowDefinition.Default, Events.Step(orderId, "order-placed", 0));
        return new CachedOrder(state, WorkflowVersions.Single(WorkflowDefinition.Default).Current, partition, Events.T0, 0, stored: false);
    }
}
