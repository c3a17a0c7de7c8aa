using Confluent.Kafka;
using Npgsql;
using OrderFlow.Domain.Events;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Workflow;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Projection;

/// <summary>
/// The folded orders the projection keeps in memory never outlive what PostgreSQL holds: a rolled-back batch, a lost
/// partition and a rebalance between instances all leave the read model equal to the fold of the events.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ProjectionCacheTests(PostgresServer postgres) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly TopicPartition Partition0 = new(KafkaBroker.OperationalTopic, 0);
    private readonly KafkaBroker _kafka = new();

    [Fact]
    public async Task A_batch_rolled_back_by_a_deadlock_is_written_again_from_the_stored_orders_not_the_changed_ones_in_memory()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        // The projection's own sessions notice the deadlock (after 5 s) rather than the test's session (never).
        await ExecuteAsync(db, "do $$ begin execute format('alter database %I set deadlock_timeout = ''5s''', current_database()); end $$");
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: new Dictionary<string, string?> { ["Sla:ExpiryPolicy"] = "Off" });
        using var producer = _kafka.CreateProducer();
        var placed = Events.StepAt("ORD-DL", "order-placed", DateTimeOffset.UtcNow);
        var paid = Events.StepAt("ORD-DL", "payment-authorized", DateTimeOffset.UtcNow);
        await PublishAsync(producer, placed);
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from orders where order_id = 'ORD-DL'"), n => n == 1, Timeout, "the placed order");

        await using (var blocker = await OpenAsync(db))
        await using (var transaction = await blocker.BeginTransactionAsync())
        {
            await ExecuteAsync(blocker, "set local deadlock_timeout = '1h'; select 1 from orders where order_id = 'ORD-DL' for update");
            await PublishAsync(producer, paid);
            // The batch folded the payment into the order in memory, advanced the partition's offset and waits for the order's row.
            await Eventually.UntilAsync(() => WaitingOnLocksAsync(readModel), n => n == 1, Timeout, "the projection to wait for the order's row");
            await ExecuteAsync(blocker, "update consumer_offsets set updated_at = updated_at where consumer_group = 'order-flow-console' and topic = 'order-ops' and partition = 0");
            await transaction.RollbackAsync();
        }

        await Eventually.UntilAsync(() => readModel.CountAsync("select event_count from orders where order_id = 'ORD-DL'"), n => n == 2, Timeout, "the payment after the retry");
        Assert.Equal(0, await readModel.CountAsync("select flagged_count from orders where order_id = 'ORD-DL'"));
        Assert.Equal(1, await readModel.CountAsync("select count(*) from order_events where event_id = @id and cardinality(flags) = 0", ("id", paid.EventId)));
        Assert.Equal(2, await readModel.CountAsync("select count(*) from order_steps where order_id = 'ORD-DL'"));
    }

    [Fact]
    public async Task A_lost_partition_s_orders_are_read_again_from_what_its_new_owner_stored()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: new Dictionary<string, string?> { ["Sla:ExpiryPolicy"] = "Off" });
        using var producer = _kafka.CreateProducer();
        var now = DateTimeOffset.UtcNow;
        var x1 = Events.StepAt("ORD-X", "order-placed", now);
        var z1 = Events.StepAt("ORD-Z", "order-placed", now);
        var x2 = Events.StepAt("ORD-X", "payment-authorized", now.AddSeconds(1));
        var z2 = Events.StepAt("ORD-Z", "payment-authorized", now.AddSeconds(1));
        var z3 = Events.StepAt("ORD-Z", "stock-reserved", now.AddSeconds(2));
        await PublishAsync(producer, x1, z1);
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from orders"), n => n == 2, Timeout, "both placed orders (kept in memory)");

        await using (var newOwner = await OpenAsync(db))
        await using (var transaction = await newOwner.BeginTransactionAsync())
        {
            // Another instance took partition 0 over: it holds the partition's position while it writes x2 and z2.
            await ExecuteAsync(newOwner, "select 1 from consumer_offsets where consumer_group = 'order-flow-console' and topic = 'order-ops' and partition = 0 for update");
            await PublishAsync(producer, x2);
            await Eventually.UntilAsync(() => WaitingOnLocksAsync(readModel), n => n == 1, Timeout, "this instance's batch with x2 to wait for the partition");
            await PublishAsync(producer, z2);
            await WriteAsNewOwnerAsync(newOwner, nextOffset: 4, (x2, 2, 2), (z2, 3, 2));
            await transaction.CommitAsync();
        }

        // This instance finds the partition written past its batch, drops what it held of the partition and resumes at offset 4.
        await PublishAsync(producer, z3);
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events where event_id = @id", ("id", z3.EventId)), n => n == 1, Timeout, "z3");
        var z = (await readModel.StoredStatesAsync(["ORD-Z"]))["ORD-Z"];
        Assert.Equal(3, z.EventCount);
        Assert.Equal(new[] { z1.EventId, z2.EventId, z3.EventId }.Order(), z.SeenEventIds.Order());
        Assert.Equal(3, await readModel.CountAsync("select event_count from orders where order_id = 'ORD-Z'"));
        Assert.Equal(0, await readModel.CountAsync("select flagged_count from orders where order_id = 'ORD-Z'"));
        Assert.Equal(2, await readModel.CountAsync("select event_count from orders where order_id = 'ORD-X'"));
        // What the new owner wrote is not written again.
        Assert.Equal(2, await readModel.CountAsync("select count(*) from order_events where event_id = any(@ids)", ("ids", new[] { x2.EventId, z2.EventId })));
        Assert.Equal(5, await readModel.CountAsync("select next_offset from consumer_offsets where topic = 'order-ops' and partition = 0"));
    }

    [Fact]
    public async Task An_order_with_events_on_two_partitions_keeps_every_event_though_two_writers_held_it_in_memory()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        // Partition 0 goes to writer 0, partition 1 to writer 1: as when producers with different partitioners write one order.
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: new Dictionary<string, string?> { ["Projection:Writers"] = "2" });
        using var producer = _kafka.CreateProducer();
        var now = DateTimeOffset.UtcNow;
        var placed = Events.StepAt("ORD-2P", "order-placed", now);
        var paid = Events.StepAt("ORD-2P", "payment-authorized", now.AddSeconds(1));
        var reserved = Events.StepAt("ORD-2P", "stock-reserved", now.AddSeconds(2));

        await PublishAsync(producer, placed);
        await Eventually.UntilAsync(() => readModel.CountAsync("select event_count from orders where order_id = 'ORD-2P'"), n => n == 1, Timeout, "placed, by writer 0");
        await producer.ProduceAsync(new TopicPartition(KafkaBroker.OperationalTopic, 1), Events.ToMessage(paid));
        await Eventually.UntilAsync(() => readModel.CountAsync("select event_count from orders where order_id = 'ORD-2P'"), n => n == 2, Timeout, "paid, by writer 1");
        // Writer 0 still holds the order as it wrote it, without the payment.
        await PublishAsync(producer, reserved);

        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events where order_id = 'ORD-2P'"), n => n == 3, Timeout, "reserved, by writer 0");
        Assert.Equal(3, await readModel.CountAsync("select event_count from orders where order_id = 'ORD-2P'"));
        Assert.Equal(0, await readModel.CountAsync("select flagged_count from orders where order_id = 'ORD-2P'"));
        var state = (await readModel.StoredStatesAsync(["ORD-2P"]))["ORD-2P"];
        Assert.Equal(new[] { placed.EventId, paid.EventId, reserved.EventId }.Order(), state.SeenEventIds.Order());
        Assert.Equal(["shipped"], (string[])(await readModel.RowsAsync("select positions from orders where order_id = 'ORD-2P'"))[0]["positions"]!);
        Assert.Equal(3, await readModel.CountAsync("select count(*) from order_steps where order_id = 'ORD-2P'"));
    }

    [Fact]
    public async Task Two_instances_sharing_the_partitions_through_rebalances_leave_the_fold_of_every_event()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        using var producer = _kafka.CreateProducer();
        // Each order's steps are published in three waves, so most orders are in memory when their partition moves.
        var orders = Enumerable.Range(0, 120).Select(i => Events.HappyPath($"ORD-RB{i:D3}").ToList()).ToList();
        var all = new List<OperationalEvent>();
        async Task PublishWaveAsync(int from, int count)
        {
            var wave = orders.SelectMany(o => o.Skip(from).Take(count)).ToList();
            await producer.PublishAsync(wave);
            all.AddRange(wave);
        }

        await using (var first = await IngestHost.StartAsync(db, _kafka.BootstrapServers, maxBatchSize: 50))
        {
            await PublishWaveAsync(0, 2);
            await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events"), n => n == all.Count, Timeout, "the first wave");
            await using (var second = await IngestHost.StartAsync(db, _kafka.BootstrapServers, maxBatchSize: 50))
            {
                await PublishWaveAsync(2, 2);
                await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events"), n => n == all.Count, Timeout, "the second wave, shared by both");
            }

            await PublishWaveAsync(4, 1);
            await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events"), n => n == all.Count, Timeout, "the last wave, back on the first instance");
        }

        Assert.Equal(0, await readModel.CountAsync("select count(*) from order_events where cardinality(flags) > 0"));
        Assert.Equal(120, await readModel.CountAsync("select count(*) from orders where status = 'completed' and event_count = 5 and flagged_count = 0"));
        Assert.Equal(600, await readModel.CountAsync("select count(*) from order_steps"));
        var expected = all.GroupBy(e => e.OrderId).ToDictionary(g => g.Key, g => OrderState.Fold(WorkflowDefinition.Default, g));
        var states = await readModel.StoredStatesAsync();
        foreach (var row in await readModel.RowsAsync("select order_id, status from orders"))
        {
            var stored = states[(string)row["order_id"]!];
            var folded = expected[(string)row["order_id"]!];
            Assert.Equal(OrderFlow.Domain.Orders.OrderStatusNames.ToName(folded.Status), row["status"]);
            Assert.Equal(folded.SeenEventIds.Order(), stored.SeenEventIds.Order());
        }
    }

    /// <summary>Publishes to partition 0, whatever the key, so the test knows which partition the orders share.</summary>
    private static async Task PublishAsync(IProducer<string, byte[]> producer, params OperationalEvent[] events)
    {
        foreach (var e in events)
        {
            await producer.ProduceAsync(Partition0, Events.ToMessage(e));
        }
    }

    private static Task<long> WaitingOnLocksAsync(ReadModel readModel) =>
        readModel.CountAsync("select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'");

    /// <summary>What another instance owning partition 0 would have committed: the position past z2, the two events and their orders' counts.</summary>
    private static async Task WriteAsNewOwnerAsync(NpgsqlConnection connection, long nextOffset, params (OperationalEvent Event, long Offset, int EventCount)[] written)
    {
        await using (var position = new NpgsqlCommand("update consumer_offsets set next_offset = @next where consumer_group = 'order-flow-console' and topic = 'order-ops' and partition = 0", connection))
        {
            position.Parameters.AddWithValue("next", nextOffset);
            await position.ExecuteNonQueryAsync();
        }

        foreach (var (e, offset, eventCount) in written)
        {
            await using var insert = new NpgsqlCommand(
                """
                insert into order_events (event_id, order_id, step, service, outcome, occurred_at, ingested_at, topic, partition, "offset", flags, attributes)
                values (@id, @order, @step, @service, 'succeeded', @at, now(), 'order-ops', 0, @offset, '{}', '{}');
                update orders set event_count = @count where order_id = @order
                """,
                connection);
            insert.Parameters.AddWithValue("id", e.EventId);
            insert.Parameters.AddWithValue("order", e.OrderId);
            insert.Parameters.AddWithValue("step", e.Step);
            insert.Parameters.AddWithValue("service", e.Service);
            insert.Parameters.AddWithValue("at", e.OccurredAt);
            insert.Parameters.AddWithValue("offset", offset);
            insert.Parameters.AddWithValue("count", eventCount);
            await insert.ExecuteNonQueryAsync();
        }
    }

    private static async Task<NpgsqlConnection> OpenAsync(string connectionString)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = await OpenAsync(connectionString);
        await ExecuteAsync(connection, sql);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public void Dispose() => _kafka.Dispose();
}
