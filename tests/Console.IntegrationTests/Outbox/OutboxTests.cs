using System.Text;
using Confluent.Kafka;
using Npgsql;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Outbox;

/// <summary>The transactional outbox as other features use it: rows with headers reach Kafka byte for byte; old published rows are pruned.</summary>
[Collection(PostgresCollection.Name)]
public sealed class OutboxTests(PostgresServer postgres) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly KafkaBroker _kafka = new();

    [Fact]
    public async Task A_queued_row_is_published_with_its_key_value_and_headers_untouched()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers);
        byte[] value = [0x7b, 0x00, 0xff, 0x7d];
        byte[] binaryHeader = [0x01, 0x02, 0xfe];
        await InsertAsync(db, "order-control", "ORD-OUTBOX", value, $$"""
            [{"key":"correlation-id","value":"{{Convert.ToBase64String(Encoding.UTF8.GetBytes("corr-1"))}}"},
             {"key":"binary","value":"{{Convert.ToBase64String(binaryHeader)}}"},
             {"key":"empty","value":null}]
            """, "test:headers", published: null);

        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = _kafka.BootstrapServers,
            GroupId = "outbox-reader",
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe("order-control");
        var record = await Task.Run(() => consumer.Consume(Timeout));

        Assert.NotNull(record);
        Assert.Equal("ORD-OUTBOX", record.Message.Key);
        Assert.Equal(value, record.Message.Value);
        Assert.Equal(["correlation-id", "binary", "empty"], record.Message.Headers.Select(h => h.Key));
        Assert.Equal("corr-1", Encoding.UTF8.GetString(record.Message.Headers.GetLastBytes("correlation-id")));
        Assert.Equal(binaryHeader, record.Message.Headers.GetLastBytes("binary"));
        Assert.Null(record.Message.Headers.GetLastBytes("empty"));
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from outbox where dedupe_key = 'test:headers' and published_at is not null"), n => n == 1, Timeout, "the row to be marked published");
    }

    [Fact]
    public async Task Rows_published_longer_ago_than_keep_published_are_pruned_and_pending_rows_kept()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: new Dictionary<string, string?>
        {
            ["Outbox:KeepPublished"] = "01:00:00",
            ["Outbox:PruneInterval"] = "00:00:00.100",
        });

        var now = DateTimeOffset.UtcNow;
        await InsertAsync(db, "order-ops", "ORD-OLD", [1], "[]", "test:old", published: now.AddHours(-2));
        await InsertAsync(db, "order-ops", "ORD-RECENT", [2], "[]", "test:recent", published: now.AddSeconds(-1));
        await InsertAsync(db, "order-ops", "ORD-PENDING", [3], "[]", "test:pending", published: null);

        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from outbox where dedupe_key = 'test:old'"), n => n == 0, Timeout, "the old published row to be pruned");
        Assert.Equal(1, await readModel.CountAsync("select count(*) from outbox where dedupe_key = 'test:recent'"));
        Assert.Equal(1, await readModel.CountAsync("select count(*) from outbox where dedupe_key = 'test:pending'"));
    }

    private static async Task InsertAsync(string db, string topic, string key, byte[] value, string headers, string dedupe, DateTimeOffset? published)
    {
        await using var connection = new NpgsqlConnection(db);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "insert into outbox (topic, key, value, headers, dedupe_key, created_at, published_at) values (@topic, @key, @value, @headers::jsonb, @dedupe, now(), @published)",
            connection);
        command.Parameters.AddWithValue("topic", topic);
        command.Parameters.AddWithValue("key", key);
        command.Parameters.AddWithValue("value", value);
        command.Parameters.AddWithValue("headers", headers);
        command.Parameters.AddWithValue("dedupe", dedupe);
        command.Parameters.AddWithValue("published", published is null ? DBNull.Value : published.Value);
        await command.ExecuteNonQueryAsync();
    }

    public void Dispose() => _kafka.Dispose();
}
