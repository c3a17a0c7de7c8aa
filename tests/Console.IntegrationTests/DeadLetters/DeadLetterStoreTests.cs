using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Npgsql;
using OrderFlow.Domain.Events;
using OrderFlow.Platform.ReadModel;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.DeadLetters;

/// <summary>Dead-letter topics through the real Kafka protocol into dead_letters on the real PostgreSQL server.</summary>
[Collection(PostgresCollection.Name)]
public sealed class DeadLetterStoreTests(PostgresServer postgres) : IDisposable
{
    private const string Group = "order-flow-console-dead-letters";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly KafkaBroker _kafka = new();

    [Fact]
    public async Task Dead_letters_are_stored_with_key_value_and_headers_byte_for_byte()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers);
        using var producer = RawProducer();
        byte[] binaryKey = [0xff, 0x00, 0xc3];
        byte[] invalidUtf8 = [0x7b, 0xff, 0xfe, 0x7d];
        var headers = new Headers
        {
            { "dlq-original-topic", Encoding.UTF8.GetBytes("order-ops") },
            { "blob", [0x00, 0xff, 0x80] },
            { "blob", [0x01] },
            new Header("empty", null),
        };
        var before = DateTimeOffset.UtcNow;

        await producer.ProduceAsync("payments-dlq", new Message<byte[]?, byte[]?> { Key = binaryKey, Value = invalidUtf8, Headers = headers });
        await producer.ProduceAsync("payments-dlq", new Message<byte[]?, byte[]?> { Key = null, Value = null });

        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from dead_letters"), n => n == 2, Timeout, "2 dead letters");
        var rows = await readModel.RowsAsync(
            "select dlq_topic, dlq_partition, dlq_offset, kafka_timestamp, key, value, headers::text as headers, source_topic, order_id, first_seen_at, status, status_changed_at, status_changed_by from dead_letters order by dlq_offset");
        var poison = rows[0];
        Assert.Equal("payments-dlq", poison["dlq_topic"]);
        Assert.Equal(0, poison["dlq_partition"]);
        Assert.Equal(0L, poison["dlq_offset"]);
        Assert.Equal(binaryKey, (byte[])poison["key"]!);
        Assert.Equal(invalidUtf8, (byte[])poison["value"]!);
        Assert.Equal([("dlq-original-topic", Convert.ToHexString(Encoding.UTF8.GetBytes("order-ops"))), ("blob", "00FF80"), ("blob", "01"), ("empty", null)], StoredHeaders((string)poison["headers"]!));
        Assert.Equal("order-ops", poison["source_topic"]);
        Assert.Null(poison["order_id"]);
        Assert.InRange((DateTime)poison["kafka_timestamp"]!, before.UtcDateTime.AddSeconds(-5), DateTime.UtcNow.AddSeconds(5));
        Assert.InRange((DateTime)poison["first_seen_at"]!, before.UtcDateTime, DateTime.UtcNow);
        Assert.Equal("new", poison["status"]);
        Assert.Null(poison["status_changed_at"]);
        Assert.Null(poison["status_changed_by"]);

        var tombstone = rows[1];
        Assert.Null(tombstone["key"]);
        Assert.Null(tombstone["value"]);
        Assert.Empty(StoredHeaders((string)tombstone["headers"]!));
        Assert.Equal(2, await readModel.CountAsync("select next_offset from consumer_offsets where consumer_group = @group and topic = 'payments-dlq'", ("group", Group)));
    }

    [Fact]
    public async Task Spring_binary_and_dlq_text_headers_give_source_coordinates_reason_and_service()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers);
        using var producer = RawProducer();
        var partition = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(partition, 4);
        var offset = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(offset, 9_876_543_210);

        await producer.ProduceAsync("stock-dlq", new Message<byte[]?, byte[]?>
        {
            Key = Encoding.UTF8.GetBytes("ORD-SPRING"),
            Value = Encoding.UTF8.GetBytes("{}"),
            Headers = new Headers
            {
                { "kafka_dlt-original-topic", Encoding.UTF8.GetBytes("order-ops") },
                { "kafka_dlt-original-partition", partition },
                { "kafka_dlt-original-offset", offset },
                { "kafka_dlt-exception-message", Encoding.UTF8.GetBytes("Listener method threw exception") },
            },
        });
        await producer.ProduceAsync("shipping-dlq", new Message<byte[]?, byte[]?>
        {
            Key = Encoding.UTF8.GetBytes("ORD-TEXT"),
            Value = Encoding.UTF8.GetBytes("{}"),
            Headers = new Headers
            {
                { "dlq-original-topic", Encoding.UTF8.GetBytes("order-ops") },
                { "dlq-original-partition", Encoding.UTF8.GetBytes("2") },
                { "dlq-original-offset", Encoding.UTF8.GetBytes("41") },
                { "dlq-error-reason", Encoding.UTF8.GetBytes("carrier rejected address") },
                { "dlq-service", Encoding.UTF8.GetBytes("shipping-service") },
            },
        });

        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from dead_letters"), n => n == 2, Timeout, "2 dead letters");
        var rows = (await readModel.RowsAsync("select dlq_topic, source_topic, source_partition, source_offset, error_reason, failed_service, order_id from dead_letters"))
            .ToDictionary(r => (string)r["dlq_topic"]!);

        Assert.Equal("order-ops", rows["stock-dlq"]["source_topic"]);
        Assert.Equal(4, rows["stock-dlq"]["source_partition"]);
        Assert.Equal(9_876_543_210L, rows["stock-dlq"]["source_offset"]);
        Assert.Equal("Listener method threw exception", rows["stock-dlq"]["error_reason"]);
        Assert.Null(rows["stock-dlq"]["failed_service"]);
        Assert.Equal("ORD-SPRING", rows["stock-dlq"]["order_id"]);

        Assert.Equal("order-ops", rows["shipping-dlq"]["source_topic"]);
        Assert.Equal(2, rows["shipping-dlq"]["source_partition"]);
        Assert.Equal(41L, rows["shipping-dlq"]["source_offset"]);
        Assert.Equal("carrier rejected address", rows["shipping-dlq"]["error_reason"]);
        Assert.Equal("shipping-service", rows["shipping-dlq"]["failed_service"]);
        Assert.Equal("ORD-TEXT", rows["shipping-dlq"]["order_id"]);
    }

    [Fact]
    public async Task The_order_is_linked_from_the_key_or_else_from_the_payload()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers);
        using var producer = RawProducer();
        var simulated = Events.Step("ORD-SIM", "order-placed", 0);

        // As the simulator's payment service dead-letters an event it could not process.
        await producer.ProduceAsync("payments-dlq", new Message<byte[]?, byte[]?>
        {
            Key = Encoding.UTF8.GetBytes(simulated.OrderId),
            Value = OperationalEventCodec.Serialize(simulated),
            Headers = new Headers
            {
                { "dlq-original-topic", Encoding.UTF8.GetBytes("order-ops") },
                { "dlq-error-reason", Encoding.UTF8.GetBytes("payment provider returned malformed response") },
                { "dlq-service", Encoding.UTF8.GetBytes("payment-service") },
            },
        });
        await producer.ProduceAsync("payments-dlq", new Message<byte[]?, byte[]?> { Key = null, Value = OperationalEventCodec.Serialize(Events.Step("ORD-EVENT", "payment-authorized", 1)) });
        await producer.ProduceAsync("payments-dlq", new Message<byte[]?, byte[]?> { Key = [0x00, 0x9f], Value = Encoding.UTF8.GetBytes("""{"orderId":"ORD-JSON","amount":3}""") });
        await producer.ProduceAsync("payments-dlq", new Message<byte[]?, byte[]?> { Key = null, Value = Encoding.UTF8.GetBytes("not json") });

        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from dead_letters"), n => n == 4, Timeout, "4 dead letters");
        var rows = await readModel.RowsAsync("select order_id, error_reason, failed_service from dead_letters order by dlq_offset");

        Assert.Equal(["ORD-SIM", "ORD-EVENT", "ORD-JSON", null], rows.Select(r => (string?)r["order_id"]));
        Assert.Equal("payment provider returned malformed response", rows[0]["error_reason"]);
        Assert.Equal("payment-service", rows[0]["failed_service"]);
    }

    [Fact]
    public async Task Each_stored_batch_is_announced_on_the_changes_channel()
    {
        var db = await postgres.CreateDatabaseAsync();
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers);
        await using var listener = new NpgsqlConnection(db);
        await listener.OpenAsync();
        var payloads = new List<string>();
        // The lag sampler announces its samples on the same channel; this test is about the dead-letter store's.
        listener.Notification += (_, e) => { if (ChangeNotification.Parse(e.Payload).Lag == 0) { payloads.Add(e.Payload); } };
        await using (var listen = new NpgsqlCommand($"listen {ReadModelDb.ChangesChannel}", listener))
        {
            await listen.ExecuteNonQueryAsync();
        }

        using var producer = RawProducer();
        await producer.ProduceAsync("stock-dlq", new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes("ORD-N"), Value = [0x01] });

        using var wait = new CancellationTokenSource(Timeout);
        while (payloads.Count == 0)
        {
            await listener.WaitAsync(wait.Token);
        }

        using var payload = JsonDocument.Parse(payloads[0]);
        Assert.Equal(1, payload.RootElement.GetProperty("deadLetters").GetInt32());
        Assert.Equal(0, payload.RootElement.GetProperty("events").GetInt32());
        Assert.Equal(0, payload.RootElement.GetProperty("orders").GetInt32());
        Assert.Equal(0, payload.RootElement.GetProperty("quarantined").GetInt32());
    }

    [Fact]
    public async Task A_configured_dead_letter_topic_that_does_not_exist_does_not_stop_the_others()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: new Dictionary<string, string?> { ["Kafka:DeadLetterTopics"] = "payments-dlq,missing-dlq,shipping-dlq" });
        using var producer = RawProducer();

        await producer.ProduceAsync("payments-dlq", new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes("ORD-M1"), Value = [0x01] });
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from dead_letters"), n => n == 1, Timeout, "the first dead letter");
        await producer.ProduceAsync("shipping-dlq", new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes("ORD-M2"), Value = [0x02] });

        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from dead_letters"), n => n == 2, Timeout, "the second dead letter, after the missing topic was reported");
    }

    [Fact]
    public async Task Restarting_mid_stream_stores_each_dead_letter_exactly_once()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        using var producer = RawProducer();
        string[] topics = ["payments-dlq", "stock-dlq", "shipping-dlq"];
        var all = Enumerable.Range(0, 300).Select(i => (Topic: topics[i % 3], Key: $"ORD-DL{i:D3}")).ToList();

        await ProduceAsync(producer, all.Take(200));
        await using (var first = await IngestHost.StartAsync(db, _kafka.BootstrapServers, maxBatchSize: 10))
        {
            await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from dead_letters"), n => n >= 30, Timeout, "some dead letters before the restart");
        }

        var beforeRestart = await readModel.CountAsync("select count(*) from dead_letters");
        await ProduceAsync(producer, all.Skip(200));
        await using (var second = await IngestHost.StartAsync(db, _kafka.BootstrapServers, maxBatchSize: 10))
        {
            await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from dead_letters"), n => n >= all.Count, Timeout, $"all {all.Count} dead letters");
        }

        Assert.InRange(beforeRestart, 30, all.Count - 100);
        Assert.Equal(all.Count, await readModel.CountAsync("select count(*) from dead_letters"));
        Assert.Equal(all.Count, await readModel.CountAsync("select count(distinct (dlq_topic, dlq_offset)) from dead_letters"));
        Assert.Equal(all.Count, await readModel.CountAsync("select count(distinct order_id) from dead_letters"));
        Assert.Equal(all.Count, await readModel.CountAsync("select sum(next_offset) from consumer_offsets where consumer_group = @group", ("group", Group)));
    }

    private IProducer<byte[]?, byte[]?> RawProducer() =>
        new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = _kafka.BootstrapServers, EnableIdempotence = true, Acks = Acks.All }).Build();

    private static async Task ProduceAsync(IProducer<byte[]?, byte[]?> producer, IEnumerable<(string Topic, string Key)> records)
    {
        foreach (var (topic, key) in records)
        {
            await producer.ProduceAsync(topic, new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes(key), Value = Encoding.UTF8.GetBytes("poison " + key) });
        }
    }

    /// <summary>The stored headers column back as (key, value bytes in hex) in the record's order.</summary>
    private static List<(string Key, string? Hex)> StoredHeaders(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.EnumerateArray()
            .Select(h => (h.GetProperty("key").GetString()!, h.GetProperty("value").ValueKind == JsonValueKind.Null ? null : Convert.ToHexString(Convert.FromBase64String(h.GetProperty("value").GetString()!))))
            .ToList();
    }

    public void Dispose() => _kafka.Dispose();
}
