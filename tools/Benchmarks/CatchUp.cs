using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Npgsql;
using OrderFlow.Domain.Events;
using OrderFlow.Domain.Orders;
using OrderFlow.EmbeddedKafka;
using OrderFlow.Ingest;
using OrderFlow.Platform.Hosting;
using OrderFlow.Platform.ReadModel;
using OrderFlow.Testing;

namespace OrderFlow.Benchmarks;

/// <summary>
/// Catch-up after a 5-minute backlog (docs/benchmarks.md, "Results — catch-up"): services publish at a steady rate R while
/// Console.Ingest is stopped for 5 minutes of that production; then Ingest starts while production goes on at R, and the
/// time until its stored offsets reach the live end gives the catch-up rate, reported as a multiple of R.
/// </summary>
public static class CatchUp
{
    private const string Topic = "order-ops";
    private static readonly TimeSpan Backlog = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromMinutes(15);

    /// <summary>Each order's steps, seconds after it was placed (all within the default workflow's SLAs).</summary>
    private static readonly (string Step, double Seconds)[] Lifecycle =
        [("order-placed", 0), ("payment-authorized", 2), ("stock-reserved", 3), ("shipped", 10), ("order-completed", 15)];

    public static async Task RunAsync(string[] args)
    {
        var rate = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2000;
        var partitions = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 24;
        var stream = new OrderStream(rate / (double)Lifecycle.Length);
        var backlogSlots = (long)(Backlog.TotalSeconds * stream.OrdersPerSecond);
        Console.WriteLine($"Catch-up: production at R = {rate:N0} events/s ({stream.OrdersPerSecond:N0} orders/s x {Lifecycle.Length} steps), " +
            $"Ingest stopped for {Backlog.TotalMinutes:0} min of it, topic {Topic} with {partitions} partitions (zstd), {Environment.ProcessorCount} cores");

        using var cluster = new MockKafkaCluster();
        cluster.CreateTopic(Topic, partitions);
        foreach (var dlq in new[] { "payments-dlq", "stock-dlq", "shipping-dlq" })
        {
            cluster.CreateTopic(dlq, 1);
        }

        var postgres = new PostgresServer();
        await postgres.InitializeAsync();
        try
        {
            var db = await MigratedDatabaseAsync(postgres);
            using var producer = new Producer(cluster.BootstrapServers);

            // 1. The 5-minute backlog, produced faster than real time with the event times it would have had.
            var backlogStart = DateTimeOffset.UtcNow - Backlog;
            var sw = Stopwatch.StartNew();
            for (var slot = 0L; slot < backlogSlots; slot++)
            {
                producer.ProduceSlot(stream, slot, backlogStart + stream.TimeOf(slot));
            }

            producer.Flush();
            var backlog = producer.Acknowledged;
            Console.WriteLine($"  backlog: {backlog:N0} events ({Backlog.TotalSeconds:0} s at R) produced in {sw.Elapsed.TotalSeconds:F1} s; load {LoadAverage()}");

            // 2. Production goes on at R, on the real clock, while Ingest starts.
            using var stop = new CancellationTokenSource();
            var live = new Thread(() => producer.ProduceLive(stream, backlogSlots, stop.Token)) { IsBackground = true, Name = "live producer" };
            live.Start();

            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Benchmark" });
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:ReadModel"] = db,
                ["Kafka:BootstrapServers"] = cluster.BootstrapServers,
                ["Urls"] = "http://127.0.0.1:0",
                ["Serilog:MinimumLevel:Default"] = "Warning",
                ["Lag:Groups"] = "order-flow-console",
                ["Sla:ExpiryPolicy"] = Environment.GetEnvironmentVariable("BENCH_SLA") ?? "AlertOnly",
            });
            builder.AddIngestServices();
            await using var app = builder.Build();
            await StartupGuard.EnsureDependenciesAsync(app.Services);
            await using var connection = new NpgsqlConnection(db);
            await connection.OpenAsync();

            // 3. Caught up = stored offsets within one second of production (R events) of the live end.
            sw.Restart();
            await app.StartAsync();
            var lastReport = TimeSpan.Zero;
            long stored;
            while (true)
            {
                stored = await StoredAsync(connection);
                var end = producer.Acknowledged;
                if (end - stored <= rate)
                {
                    break;
                }

                if (sw.Elapsed > GiveUpAfter)
                {
                    Console.WriteLine($"  NOT caught up after {sw.Elapsed.TotalSeconds:F0} s: {stored:N0} stored ({stored / sw.Elapsed.TotalSeconds:N0} events/s = " +
                        $"{stored / sw.Elapsed.TotalSeconds / rate:F2} x R), {end - stored:N0} behind; load {LoadAverage()}");
                    await stop.CancelAsync();
                    live.Join();
                    await app.StopAsync();
                    return;
                }

                if (sw.Elapsed - lastReport >= TimeSpan.FromSeconds(15))
                {
                    lastReport = sw.Elapsed;
                    Console.WriteLine($"    {sw.Elapsed.TotalSeconds,5:F0} s: stored {stored:N0}, live end {end:N0}, behind {end - stored:N0}; load {LoadAverage()}");
                }

                await Task.Delay(50);
            }

            var caughtUp = sw.Elapsed;
            var load = LoadAverage();
            var rateNow = stored / caughtUp.TotalSeconds;
            Console.WriteLine($"  caught up after {caughtUp.TotalSeconds:F1} s (from Ingest start, group join included): {stored:N0} events stored, " +
                $"{stored - backlog:N0} more than the backlog; load {load}");
            Console.WriteLine($"  catch-up rate {rateNow:N0} events/s = {rateNow / rate:F2} x R; backlog duration / catch-up time = {Backlog.TotalSeconds / caughtUp.TotalSeconds:F2}");

            // 4. A little more live production, then everything produced must be in the read model exactly once.
            await Task.Delay(TimeSpan.FromSeconds(5));
            await stop.CancelAsync();
            live.Join();
            producer.Flush();
            var produced = producer.Acknowledged;
            while (await StoredAsync(connection) < produced)
            {
                await Task.Delay(100);
            }

            await app.StopAsync();
            await VerifyAsync(connection, cluster.BootstrapServers, partitions, produced, producer.Failed);
        }
        finally
        {
            await postgres.DisposeAsync();
        }
    }

    private static async Task<long> StoredAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand("select coalesce(sum(next_offset), 0)::bigint from consumer_offsets where consumer_group = 'order-flow-console' and topic = @topic", connection);
        command.Parameters.AddWithValue("topic", Topic);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Nothing dropped by the mock broker's retention cap, nothing lost or doubled by Ingest.</summary>
    private static async Task VerifyAsync(NpgsqlConnection connection, string bootstrapServers, int partitions, long produced, long failed)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrapServers, GroupId = "bench-watermarks" }).Build();
        var watermarks = Enumerable.Range(0, partitions).Select(p => consumer.QueryWatermarkOffsets(new TopicPartition(Topic, p), TimeSpan.FromSeconds(10))).ToList();
        var events = await CountAsync(connection, "select count(*) from order_events");
        var flagged = await CountAsync(connection, "select count(*) from order_events where cardinality(flags) > 0");
        var quarantined = await CountAsync(connection, "select count(*) from quarantined_records");
        var distinct = await CountAsync(connection, "select count(*) from (select distinct topic, partition, \"offset\" from order_events) c");
        var orders = await CountAsync(connection, "select count(*) from orders");
        var completed = await CountAsync(connection, $"select count(*) from orders where status = '{OrderStatusNames.Completed}'");
        var breaches = await CountAsync(connection, "select count(*) from sla_breaches");
        var breachedOrders = await CountAsync(connection, "select count(distinct order_id) from sla_breaches");
        var ok = failed == 0 && watermarks.Sum(w => w.High.Value) == produced && events == produced && distinct == produced && flagged == 0 && quarantined == 0;
        var trimmed = watermarks.Sum(w => w.Low.Value);
        Console.WriteLine($"  check: produced {produced:N0} (failed deliveries {failed}), log {watermarks.Sum(w => w.High.Value):N0} records; order_events {events:N0} " +
            $"({distinct:N0} distinct coordinates, {flagged} flagged), quarantined {quarantined} -> {(ok ? "OK, nothing lost or doubled" : "MISMATCH")}");
        Console.WriteLine(trimmed == 0
            ? "  the broker's retention cap dropped nothing (every partition still starts at offset 0)"
            : $"  the broker's retention cap has since dropped the oldest {trimmed:N0} records (after Ingest had stored them, or order_events would be short)");
        Console.WriteLine($"  read model: {orders:N0} orders ({completed:N0} completed); SLA watcher recorded {breaches:N0} breaches of {breachedOrders:N0} orders while catching up");
    }

    private static async Task<long> CountAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    private static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    private static Task<string> MigratedDatabaseAsync(PostgresServer postgres) => BenchDatabase.MigratedAsync(postgres, "catchup");

    /// <summary>
    /// Orders placed at a steady rate, each going through its lifecycle; slot n (time n / orders-per-second) carries
    /// the events that happen then: one order placed, earlier orders taking their next steps.
    /// </summary>
    private sealed class OrderStream(double ordersPerSecond)
    {
        private readonly long[] _lagSlots = Lifecycle.Select(l => (long)Math.Round(l.Seconds * ordersPerSecond)).ToArray();

        public double OrdersPerSecond => ordersPerSecond;

        public TimeSpan TimeOf(long slot) => TimeSpan.FromSeconds(slot / ordersPerSecond);

        public IEnumerable<OperationalEvent> EventsAt(long slot, DateTimeOffset occurredAt)
        {
            for (var i = 0; i < Lifecycle.Length; i++)
            {
                var order = slot - _lagSlots[i];
                if (order >= 0)
                {
                    var step = Lifecycle[i].Step;
                    var attributes = i == 0 ? $$"""{"amount":{{order % 500}}.90,"currency":"EUR"}""" : "{}";
                    yield return new OperationalEvent(Guid.NewGuid(), $"ORD-C{order:D8}", step, step.Split('-')[0] + "-service", StepOutcome.Succeeded, null,
                        occurredAt, OperationalEvent.CurrentSchemaVersion, attributes);
                }
            }
        }
    }

    /// <summary>The services' producer: idempotent, acks=all, zstd (the mock broker keeps at most 5 MiB per partition).</summary>
    private sealed class Producer(string bootstrapServers) : IDisposable
    {
        private readonly IProducer<string, byte[]> _producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 20,
            CompressionType = CompressionType.Zstd,
            QueueBufferingMaxMessages = 2_000_000,
            QueueBufferingMaxKbytes = 2_000_000,
        }).Build();

        private long _acknowledged;
        private long _failed;

        public long Acknowledged => Interlocked.Read(ref _acknowledged);

        public long Failed => Interlocked.Read(ref _failed);

        public void ProduceSlot(OrderStream stream, long slot, DateTimeOffset occurredAt)
        {
            foreach (var e in stream.EventsAt(slot, occurredAt))
            {
                _producer.Produce(Topic, Events.ToMessage(e), report =>
                {
                    if (report.Error.IsError)
                    {
                        Interlocked.Increment(ref _failed);
                    }
                    else
                    {
                        Interlocked.Increment(ref _acknowledged);
                    }
                });
            }
        }

        /// <summary>From slot <paramref name="first"/> on, each slot when its time comes on the real clock.</summary>
        public void ProduceLive(OrderStream stream, long first, CancellationToken stop)
        {
            var start = DateTimeOffset.UtcNow;
            var sw = Stopwatch.StartNew();
            var next = first;
            while (!stop.IsCancellationRequested)
            {
                var due = first + (long)(sw.Elapsed.TotalSeconds * stream.OrdersPerSecond);
                for (; next < due; next++)
                {
                    ProduceSlot(stream, next, start + stream.TimeOf(next - first));
                }

                Thread.Sleep(5);
            }
        }

        public void Flush() => _producer.Flush(TimeSpan.FromMinutes(5));

        public void Dispose() => _producer.Dispose();
    }
}
