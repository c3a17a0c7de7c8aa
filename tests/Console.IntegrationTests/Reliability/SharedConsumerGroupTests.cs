using OrderFlow.Domain.Events;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Reliability;

/// <summary>Several Console.Ingest instances in one consumer group, through real rebalances on the Kafka-protocol broker.</summary>
[Collection(PostgresCollection.Name)]
public sealed class SharedConsumerGroupTests(PostgresServer postgres) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly KafkaBroker _kafka = new();

    [Fact]
    public async Task A_second_instance_joining_and_the_first_leaving_mid_stream_loses_nothing_and_counts_nothing_twice()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        using var producer = _kafka.CreateProducer();
        var all = Enumerable.Range(0, 600).SelectMany(i => Events.HappyPath($"ORD-G{i:D3}")).ToList();
        var (before, whileJoining, whileLeaving) = (all[..1000], all[1000..2000], all[2000..]);
        var firstLogs = new CapturedLogs();
        var secondLogs = new CapturedLogs();

        IngestHost? first = await IngestHost.StartAsync(db, _kafka.BootstrapServers, firstLogs, maxBatchSize: 50);
        IngestHost? second = null;
        try
        {
            await producer.PublishAsync(before);
            await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events"), n => n >= 200, Timeout, "the first instance projecting");

            // Instance 2 joins while events keep coming: the group rebalances and the partitions are split between the two.
            second = await IngestHost.StartAsync(db, _kafka.BootstrapServers, secondLogs, maxBatchSize: 50);
            await Task.WhenAll(
                producer.PublishAsync(whileJoining),
                Eventually.UntilAsync(() => Task.FromResult(AssignedPartitions(secondLogs).Count), n => n is > 0 and < 6, Timeout, "the second instance to get part of the partitions"));
            await Eventually.UntilAsync(() => Task.FromResult(AssignedPartitions(firstLogs).Count), n => n is > 0 and < 6, Timeout, "the first instance to keep the other part");
            Assert.Empty(AssignedPartitions(firstLogs).Intersect(AssignedPartitions(secondLogs)));

            // Instance 1 leaves while events keep coming: instance 2 takes over every partition.
            await Task.WhenAll(producer.PublishAsync(whileLeaving), first.DisposeAsync().AsTask());
            first = null;
            await Eventually.UntilAsync(() => Task.FromResult(AssignedPartitions(secondLogs).Count), n => n == 6, Timeout, "the second instance to own all six partitions");
            await Eventually.UntilAsync(() => readModel.CountAsync("select coalesce(sum(next_offset), 0) from consumer_offsets where topic = 'order-ops'"), n => n >= all.Count, Timeout, $"all {all.Count} events stored");
        }
        finally
        {
            foreach (var host in new[] { first, second }.OfType<IngestHost>())
            {
                await host.DisposeAsync();
            }
        }

        await AssertReadModelIsTheFoldOfAsync(readModel, all);
    }

    /// <summary>Each event stored once at its own coordinates, nothing flagged, offsets covering the log, orders equal to the fold of their events.</summary>
    internal static async Task AssertReadModelIsTheFoldOfAsync(ReadModel readModel, IReadOnlyList<OperationalEvent> all)
    {
        Assert.Equal(all.Count, await readModel.CountAsync("select count(*) from order_events"));
        Assert.Equal(all.Count, await readModel.CountAsync("select count(*) from (select distinct topic, partition, \"offset\" from order_events) c"));
        Assert.Equal(all.Count, await readModel.CountAsync("select count(distinct event_id) from order_events"));
        Assert.Equal(0, await readModel.CountAsync("select count(*) from order_events where cardinality(flags) > 0"));
        Assert.Equal(all.Count, await readModel.CountAsync("select sum(next_offset) from consumer_offsets where topic = 'order-ops'"));

        var expected = all.GroupBy(e => e.OrderId).ToDictionary(g => g.Key, g => Domain.Orders.OrderState.Fold(Domain.Workflow.WorkflowDefinition.Default, g));
        var rows = await readModel.RowsAsync("select order_id, event_count, status from orders");
        var states = await readModel.StoredStatesAsync();
        Assert.Equal(expected.Count, rows.Count);
        foreach (var row in rows)
        {
            var stored = states[(string)row["order_id"]!];
            var folded = expected[(string)row["order_id"]!];
            Assert.Equal(folded.EventCount, (int)row["event_count"]!);
            Assert.Equal(OrderFlow.Domain.Orders.OrderStatusNames.ToName(folded.Status), row["status"]);
            Assert.Equal(folded.SeenEventIds.Order(), stored.SeenEventIds.Order());
        }
    }

    /// <summary>The partitions of the instance's latest assignment, from its "order-flow-console assigned order-ops[3]@…, …" line.</summary>
    private static HashSet<int> AssignedPartitions(CapturedLogs logs)
    {
        var line = logs.Lines.LastOrDefault(l => l.Contains("order-flow-console assigned", StringComparison.Ordinal));
        if (line is null)
        {
            return [];
        }

        return line[(line.IndexOf(" assigned ", StringComparison.Ordinal) + " assigned ".Length)..]
            .Split(", ", StringSplitOptions.RemoveEmptyEntries)
            .Where(p => p.StartsWith("order-ops[", StringComparison.Ordinal))
            .Select(p => int.Parse(p["order-ops[".Length..p.IndexOf(']', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture))
            .ToHashSet();
    }

    public void Dispose() => _kafka.Dispose();
}
