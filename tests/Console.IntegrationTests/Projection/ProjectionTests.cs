using System.Text;
using Confluent.Kafka;
using OrderFlow.Domain.Events;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Workflow;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Projection;

/// <summary>Operational events through the real Kafka protocol into the real PostgreSQL read model.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ProjectionTests(PostgresServer postgres) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly KafkaBroker _kafka = new();

    [Fact]
    public async Task Published_events_become_orders_with_status_and_position()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers);
        using var producer = _kafka.CreateProducer();

        await producer.PublishAsync(Events.HappyPath("ORD-A"));
        await producer.PublishAsync([Events.Step("ORD-B", "order-placed", 0), Events.Step("ORD-B", "stock-reserved", 2)]);

        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events"), n => n == 7, Timeout, "7 events in order_events");
        var orders = (await readModel.RowsAsync("select order_id, status, positions, event_count, last_step from orders order by order_id"))
            .ToDictionary(r => (string)r["order_id"]!);

        Assert.Equal("completed", orders["ORD-A"]["status"]);
        Assert.Empty((string[])orders["ORD-A"]["positions"]!);
        Assert.Equal(5, orders["ORD-A"]["event_count"]);
        Assert.Equal("in-progress", orders["ORD-B"]["status"]);
        Assert.Equal(["payment-authorized", "shipped"], (string[])orders["ORD-B"]["positions"]!);
        Assert.Equal("stock-reserved", orders["ORD-B"]["last_step"]);
    }

    [Fact]
    public async Task A_redelivered_event_is_stored_once_more_flagged_duplicate_and_not_counted()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers);
        using var producer = _kafka.CreateProducer();
        var placed = Events.Step("ORD-D", "order-placed", 0);

        await producer.PublishAsync([placed, placed, Events.Step("ORD-D", "payment-authorized", 1)]);

        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events"), n => n == 3, Timeout, "3 stored events");
        Assert.Equal(1, await readModel.CountAsync("select count(*) from order_events where 'duplicate' = any(flags)"));
        Assert.Equal(2, await readModel.CountAsync("select event_count from orders where order_id = 'ORD-D'"));
        Assert.Equal(1, await readModel.CountAsync("select flagged_count from orders where order_id = 'ORD-D'"));
    }

    [Fact]
    public async Task Poison_records_are_quarantined_with_their_bytes_and_the_partition_keeps_flowing()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers);
        using var producer = _kafka.CreateProducer();
        byte[] invalidUtf8 = [0x7b, 0xff, 0xfe, 0x7d];
        var oversized = Encoding.UTF8.GetBytes("{\"pad\":\"" + new string('x', 70_000) + "\"}");
        var unknownVersion = Encoding.UTF8.GetBytes("{\"schemaVersion\":99,\"eventId\":\"" + Guid.NewGuid() + "\"}");

        // All on key ORD-P, so all on one partition, before a good event of the same order.
        foreach (var bad in new[] { Encoding.UTF8.GetBytes("{not json"), invalidUtf8, oversized, unknownVersion })
        {
            await producer.ProduceAsync(KafkaBroker.OperationalTopic, new Message<string, byte[]>
            {
                Key = "ORD-P",
                Value = bad,
                Headers = new Headers { { "source", Encoding.UTF8.GetBytes("test") } },
            });
        }

        await producer.PublishAsync([Events.Step("ORD-P", "order-placed", 0)]);

        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from orders where order_id = 'ORD-P'"), n => n == 1, Timeout, "the good event after the poison");
        var quarantined = await readModel.RowsAsync("select error, value, headers::text as headers from quarantined_records order by \"offset\"");
        Assert.Equal(4, quarantined.Count);
        Assert.StartsWith("payload is not valid JSON", (string)quarantined[0]["error"]!, StringComparison.Ordinal);
        Assert.Equal("payload is not valid UTF-8", quarantined[1]["error"]);
        Assert.Contains("exceeds the 65536-byte limit", (string)quarantined[2]["error"]!, StringComparison.Ordinal);
        Assert.StartsWith("unknown schemaVersion 99", (string)quarantined[3]["error"]!, StringComparison.Ordinal);
        Assert.Equal(invalidUtf8, (byte[])quarantined[1]["value"]!);
        Assert.Contains(Convert.ToBase64String(Encoding.UTF8.GetBytes("test")), (string)quarantined[0]["headers"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Values_postgresql_cannot_store_are_quarantined_and_the_rest_of_the_batch_is_written()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers);
        using var producer = _kafka.CreateProducer();

        // Valid JSON each, on one order (one partition): a NUL in the reason (the codec knows PostgreSQL text cannot hold
        // it), a number beyond PostgreSQL's numeric (the codec lets it through; PostgreSQL refuses the batch's COPY), and
        // a good event whose trace header holds a NUL.
        var nulReason = Events.Step("ORD-Q", "payment-authorized", 1, succeeded: false, reason: "card\u0000declined");
        var hugeNumber = Events.Step("ORD-Q", "payment-authorized", 2) with { AttributesJson = """{"amount":1e999999}""" };
        await producer.PublishAsync([Events.Step("ORD-Q", "order-placed", 0), nulReason, hugeNumber]);
        var reserved = Events.ToMessage(Events.Step("ORD-Q", "stock-reserved", 3));
        reserved.Headers = new Headers { { "traceparent", Encoding.UTF8.GetBytes("00-abc\u0000def-01") } };
        await producer.ProduceAsync(KafkaBroker.OperationalTopic, reserved);

        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from quarantined_records"), n => n == 2, Timeout, "two quarantined records");
        await Eventually.UntilAsync(() => readModel.CountAsync("select event_count from orders where order_id = 'ORD-Q'"), n => n == 2, Timeout, "the good events folded");
        var quarantined = await readModel.RowsAsync("select error, value from quarantined_records order by \"offset\"");
        Assert.Equal("reason contains a NUL character (\\u0000)", quarantined[0]["error"]);
        Assert.StartsWith("PostgreSQL refused the event: value overflows numeric format", (string)quarantined[1]["error"]!, StringComparison.Ordinal);
        Assert.Equal(OperationalEventCodec.Serialize(hugeNumber), (byte[])quarantined[1]["value"]!);
        var stored = await readModel.RowsAsync("select step, trace_id from order_events where order_id = 'ORD-Q' order by \"offset\"");
        Assert.Equal(["order-placed", "stock-reserved"], stored.Select(r => (string)r["step"]!));
        Assert.Null(stored[1]["trace_id"]);
        var order = (await readModel.RowsAsync("select positions from orders where order_id = 'ORD-Q'")).Single();
        Assert.Equal(["payment-authorized", "shipped"], (string[])order["positions"]!);
    }

    [Fact]
    public async Task Restarting_mid_stream_loses_nothing_and_counts_nothing_twice()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        using var producer = _kafka.CreateProducer();
        var all = Enumerable.Range(0, 200).SelectMany(i => Events.HappyPath($"ORD-R{i:D3}")).ToList();

        await producer.PublishAsync(all.Take(600));
        await using (var first = await IngestHost.StartAsync(db, _kafka.BootstrapServers, maxBatchSize: 50))
        {
            await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events"), n => n >= 100, Timeout, "some events before the restart");
        }

        await producer.PublishAsync(all.Skip(600));
        await using (var second = await IngestHost.StartAsync(db, _kafka.BootstrapServers, maxBatchSize: 50))
        {
            await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events"), n => n >= all.Count, Timeout, $"all {all.Count} events");
        }

        Assert.Equal(all.Count, await readModel.CountAsync("select count(*) from order_events"));
        Assert.Equal(0, await readModel.CountAsync("select count(*) from order_events where cardinality(flags) > 0"));
        Assert.Equal(200, await readModel.CountAsync("select count(*) from orders where status = 'completed' and event_count = 5"));
        Assert.Equal(all.Count, await readModel.CountAsync("select sum(next_offset) from consumer_offsets where topic = 'order-ops'"));

        // The read model equals the fold of every event published.
        var expected = all.GroupBy(e => e.OrderId).ToDictionary(g => g.Key, g => OrderState.Fold(WorkflowDefinition.Default, g));
        var states = await readModel.StoredStatesAsync();
        foreach (var row in await readModel.RowsAsync("select order_id, status, event_count from orders"))
        {
            var stored = states[(string)row["order_id"]!];
            var folded = expected[(string)row["order_id"]!];
            Assert.Equal(OrderFlow.Domain.Orders.OrderStatusNames.ToName(folded.Status), row["status"]);
            Assert.Equal(folded.EventCount, (int)row["event_count"]!);
            Assert.Equal(folded.SeenEventIds.Order(), stored.SeenEventIds.Order());
        }
    }

    [Fact]
    public async Task A_recreated_topic_is_read_from_its_beginning_instead_of_blocking_on_old_positions()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        using (var producer = _kafka.CreateProducer())
        {
            await producer.PublishAsync(Enumerable.Range(0, 20).SelectMany(i => Events.HappyPath($"ORD-OLD{i}")));
        }

        await using (var first = await IngestHost.StartAsync(db, _kafka.BootstrapServers))
        {
            await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events"), n => n == 100, Timeout, "the first topic's 100 events");
        }

        // A new cluster: same topic name, offsets start again at 0 (as with a fresh embedded broker or a recreated topic).
        using var fresh = new KafkaBroker();
        using (var producer = fresh.CreateProducer())
        {
            await producer.PublishAsync(Events.HappyPath("ORD-NEW"));
        }

        await using var second = await IngestHost.StartAsync(db, fresh.BootstrapServers);
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from orders where order_id = 'ORD-NEW' and status = 'completed'"), n => n == 1, Timeout, "the new topic's order");
        Assert.Equal(20, await readModel.CountAsync("select count(*) from orders where order_id like 'ORD-OLD%'"));
    }

    public void Dispose() => _kafka.Dispose();
}
