using System.Text;
using Confluent.Kafka;
using OrderFlow.Platform.ReadModel;

namespace OrderFlow.IntegrationTests.Hosting;

/// <summary>The change notification and the stored headers: written in one place, read in one place.</summary>
public class ChangeNotificationTests
{
    [Fact]
    public void A_notification_reads_back_as_it_was_written()
    {
        var sent = new ChangeNotification { Events = 5, Orders = 2, OrderIds = ["ORD-1", "ORD-\"2\""], Quarantined = 1, DeadLetters = 3, Sla = 2, Lag = 4, Actions = 1 };

        var read = ChangeNotification.Parse(sent.ToPayload());

        Assert.Equal(sent with { OrderIds = read.OrderIds }, read);
        Assert.Equal(sent.OrderIds, read.OrderIds);
        Assert.True(read.AllOrderIds);
        Assert.False(read.Unknown);
    }

    [Fact]
    public void Order_ids_that_do_not_fit_a_notify_payload_travel_as_a_filter_that_names_every_one_of_them()
    {
        var ids = Enumerable.Range(0, 2000).Select(i => $"ORD-{i:D10}-{new string('x', 40)}").ToList();

        var payload = new ChangeNotification { Orders = ids.Count, OrderIds = ids }.ToPayload();
        var read = ChangeNotification.Parse(payload);

        Assert.True(Encoding.UTF8.GetByteCount(payload) < 8000);
        Assert.Equal(2000, read.Orders);
        Assert.False(read.AllOrderIds);
        Assert.NotNull(read.OrderFilter);
        Assert.All(ids, id => Assert.True(read.MayConcernOrder(id), id));
    }

    [Fact]
    public void The_filter_of_a_large_write_leaves_almost_every_other_order_page_quiet()
    {
        var ids = Enumerable.Range(0, 2000).Select(i => $"ORD-{i:D6}").ToList();
        var read = ChangeNotification.Parse(new ChangeNotification { Orders = ids.Count, OrderIds = ids }.ToPayload());

        var others = Enumerable.Range(1_000_000, 20_000).Select(i => $"ORD-{i:D7}").ToList();
        var falseAlarms = others.Count(read.MayConcernOrder);

        // 3 probes into 32,768 bits with 2,000 ids: ~0.5 % expected; 1 % would mean a broken hash.
        Assert.InRange(falseAlarms, 0, others.Count / 100);
        Assert.All(ids, id => Assert.True(read.MayConcernOrder(id), id));
    }

    [Fact]
    public void Without_ids_or_a_readable_filter_any_order_may_have_changed_and_without_orders_none()
    {
        var noFilter = ChangeNotification.Parse("""{"events":9,"orders":3,"orderIds":["ORD-1"]}""");
        var badFilter = ChangeNotification.Parse("""{"events":9,"orders":3,"orderIds":[],"orderFilter":"not base64!"}""");
        var named = ChangeNotification.Parse(new ChangeNotification { Orders = 1, OrderIds = ["ORD-1"] }.ToPayload());
        var noOrders = ChangeNotification.Parse(new ChangeNotification { DeadLetters = 2 }.ToPayload());

        Assert.True(noFilter.MayConcernOrder("ORD-2"));
        Assert.Null(badFilter.OrderFilter);
        Assert.True(badFilter.MayConcernOrder("ORD-2"));
        Assert.True(named.MayConcernOrder("ORD-1"));
        Assert.False(named.MayConcernOrder("ORD-2"));
        Assert.False(noOrders.MayConcernOrder("ORD-1"));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    public void A_payload_that_is_not_a_notification_means_anything_may_have_changed(string payload) =>
        Assert.True(ChangeNotification.Parse(payload).Unknown);

    [Fact]
    public void A_notification_of_an_older_writer_without_the_new_parts_still_reads()
    {
        var read = ChangeNotification.Parse("""{"events":0,"orders":0,"quarantined":0,"deadLetters":7}""");

        Assert.Equal(7, read.DeadLetters);
        Assert.False(read.Unknown);
    }

    [Fact]
    public void Stored_headers_keep_every_byte_order_and_null_value()
    {
        var headers = new Headers { { "a", [0x00, 0xFF] }, { "b", null }, { "a", Encoding.UTF8.GetBytes("again") } };

        var read = StoredHeaders.Parse(StoredHeaders.From(headers).ToJson()).ToKafka();

        Assert.Equal(headers.Select(h => (h.Key, h.GetValueBytes())), read.Select(h => (h.Key, h.GetValueBytes())));
        Assert.Equal("[]", StoredHeaders.None.ToJson());
    }
}
