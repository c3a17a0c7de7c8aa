using OrderFlow.Domain.Events;

namespace OrderFlow.Domain.Tests.Events;

public sealed class NameBasedEventIdTests
{
    [Fact]
    public void The_documented_expiry_id_of_ORD_1_is_produced()
    {
        // docs/events.md and docs/control-events.md publish this value: other implementations must reproduce it.
        Assert.Equal(Guid.Parse("c91b5cd7-11b2-3694-8e43-45daa48803b4"), NameBasedEventId.For("order-expired", "ORD-1"));
    }

    [Fact]
    public void Ids_are_version_3_uuids_that_differ_by_step_and_by_order()
    {
        var id = NameBasedEventId.For("payment-refunded", "ORD-1");

        Assert.Equal('3', id.ToString()[14]);
        Assert.Contains(id.ToString()[19], "89ab");
        Assert.NotEqual(id, NameBasedEventId.For("stock-released", "ORD-1"));
        Assert.NotEqual(id, NameBasedEventId.For("payment-refunded", "ORD-2"));
        Assert.Equal(id, NameBasedEventId.For("payment-refunded", "ORD-1"));
    }
}
