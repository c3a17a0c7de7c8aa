using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using NpgsqlTypes;
using OrderFlow.Domain.Events;
using OrderFlow.Ingest;
using OrderFlow.Platform.Hosting;
using OrderFlow.Platform.ReadModel;
using OrderFlow.Testing;

// Other benchmarks (docs/benchmarks.md): tools/benchmark.sh breach | catchup | latency | pages | discovered | search
if (args is ["breach", .. var breachArgs])
{
    await OrderFlow.Benchmarks.BreachDelay.RunAsync(breachArgs);
    return;
}

if (args is ["latency", .. var latencyArgs])
{
    await OrderFlow.Benchmarks.ScreenLatency.RunAsync(latencyArgs);
    return;
}

if (args is ["load", .. var loadArgs])
{
    await OrderFlow.Benchmarks.ScreenLatency.LoadAsync(loadArgs);
    return;
}

if (args is ["pages", .. var pagesArgs])
{
    await OrderFlow.Benchmarks.OpenPages.RunAsync(pagesArgs);
    return;
}

if (args is ["shot", .. var shotArgs])
{
    await OrderFlow.Benchmarks.Screenshot.RunAsync(shotArgs);
    return;
}

if (args is ["discovered", .. var discoveredArgs])
{
    await OrderFlow.Benchmarks.DiscoveredFlowQuery.RunAsync(discoveredArgs);
    return;
}

if (args is ["search", .. var searchArgs])
{
    await OrderFlow.Benchmarks.OrderSearchLatency.RunAsync(searchArgs);
    return;
}

if (args is ["catchup", .. var catchUpArgs])
{
    await OrderFlow.Benchmarks.CatchUp.RunAsync(catchUpArgs);
    return;
}

// Ingest throughput, measured side by side in one run on one machine (docs/benchmarks.md):
//   1. bare Confluent.Kafka consume loop over the topic,
//   2. "ideal writer": binary COPY of the same event rows into order_events,
//   3. Console.Ingest: consume + fold + events + orders + offsets, committed to PostgreSQL;
//   2 and 3 alternate BENCH_ROUNDS times (3), the median ratio is the verdict.
// Each reads the whole topic; throughput is measured in the steady state, over the events after the first
// BENCH_WARMUP ones (start-up, group join and JIT compilation fall before the window). Console.Ingest's time from
// start to the last commit is printed too. BENCH_SPREAD=1 publishes the orders' steps in waves (every order's first
// step, then every order's second...), so each batch folds into orders already written instead of new ones.
var invariant = System.Globalization.CultureInfo.InvariantCulture;
var orders = (args.Length > 0 ? int.Parse(args[0], invariant) : 200_000) / 5;
var warmupOrders = int.Parse(Environment.GetEnvironmentVariable("BENCH_WARMUP") ?? "300000", invariant) / 5;
var total = (warmupOrders + orders) * 5;
var from = warmupOrders * 5;
var spread = Environment.GetEnvironmentVariable("BENCH_SPREAD") == "1";
Console.WriteLine($"Benchmark: {total:N0} operational events ({total / 5:N0} orders x 5 steps{(spread ? ", published step by step" : "")}), 6 partitions, {Environment.ProcessorCount} cores; measured over the last {total - from:N0} (after {from:N0})");

var postgres = new PostgresServer();
await postgres.InitializeAsync();
using var kafka = new KafkaBroker();
try
{
    var produced = Produce(kafka, KafkaBroker.OperationalTopic, total / 5, spread);
    Console.WriteLine($"  produce           {total / produced.TotalSeconds,10:N0} events/s  ({total:N0} in {produced.TotalSeconds:F2} s)");

    var bare = await ConsumeBareAsync(postgres, kafka, total, from);
    Console.WriteLine($"  bare consume      {bare.Rate,10:N0} events/s  {bare.Cpu}");

    // The ideal writer and Console.Ingest alternate, BENCH_ROUNDS times (each on a fresh database, reading the same
    // topic): this machine has faster and slower stretches minutes long, so one pair can land on either side of one.
    // The verdict is the median of the rounds' ratios.
    var rounds = int.Parse(Environment.GetEnvironmentVariable("BENCH_ROUNDS") ?? "3", invariant);
    var ratios = new List<double>();
    for (var round = 1; round <= rounds; round++)
    {
        if (rounds > 1)
        {
            Console.WriteLine($"  round {round} of {rounds}");
        }

        var ideal = await IdealWriterAsync(postgres, kafka, total, from);
        Console.WriteLine($"  ideal COPY writer {ideal.Rate,10:N0} events/s  {ideal.Cpu}");

        using var phases = new ProjectionPhases();
        var ingest = await IngestAsync(postgres, kafka, total, from);
        Console.WriteLine($"  Console.Ingest    {ingest.Rate,10:N0} events/s  {ingest.Cpu}");
        Console.WriteLine($"    from start: {total:N0} events in {ingest.FromStart.TotalSeconds:F2} s ({total / ingest.FromStart.TotalSeconds:N0} events/s), first batch committed after {ingest.FirstCommit.TotalSeconds:F2} s");
        Console.WriteLine($"    {phases}");
        Console.WriteLine($"  ratio ingest / ideal writer: {ingest.Rate / ideal.Rate:F2}   ingest / bare consume: {ingest.Rate / bare.Rate:F2}");
        ratios.Add(ingest.Rate / ideal.Rate);
    }

    if (rounds > 1)
    {
        var sorted = ratios.Order().ToList();
        var median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
        Console.WriteLine($"  median ratio ingest / ideal writer over {rounds} rounds: {median:F2}  ({string.Join(", ", ratios.Select(r => r.ToString("F2", invariant)))})");
    }
}
finally
{
    await postgres.DisposeAsync();
}

static TimeSpan Produce(KafkaBroker kafka, string topic, int orders, bool spread)
{
    using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
    {
        BootstrapServers = kafka.BootstrapServers,
        EnableIdempotence = true,
        Acks = Acks.All,
        LingerMs = 5,
        CompressionType = CompressionType.Lz4,
        QueueBufferingMaxMessages = 1_000_000,
    }).Build();
    var sw = Stopwatch.StartNew();
    // Step by step, orders stay in flight for the whole run: their events happen now, so their SLA clocks run as in a live shop.
    var steps = Events.HappyPath("any").Select(e => (e.Step, After: e.OccurredAt - Events.T0)).ToArray();
    var now = DateTimeOffset.UtcNow;
    foreach (var (step, after) in spread ? steps : [default])
    {
        for (var i = 0; i < orders; i++)
        {
            foreach (var e in spread ? [Events.StepAt($"ORD-B{i:D7}", step, now + after)] : Events.HappyPath($"ORD-B{i:D7}"))
            {
                producer.Produce(topic, Events.ToMessage(e));
            }
        }
    }

    producer.Flush(TimeSpan.FromMinutes(5));
    return sw.Elapsed;
}

static async Task<Measured> ConsumeBareAsync(PostgresServer postgres, KafkaBroker kafka, int total, int from)
{
    using var consumer = BenchConsumer(kafka, "bench-bare");
    await Jit.QuietAsync();
    var window = new Window(postgres);
    for (var seen = 0; seen < total;)
    {
        if (consumer.Consume(TimeSpan.FromSeconds(10)) is not null && ++seen == from)
        {
            window.Open(from);
        }
    }

    var measured = window.Close(total);
    consumer.Close();
    return measured;
}

static Task<string> MigratedDatabaseAsync(PostgresServer postgres) => BenchDatabase.MigratedAsync(postgres, "bench");

// A plain consumer of the operational topic from its beginning, committing nothing.
static IConsumer<byte[], byte[]> BenchConsumer(KafkaBroker kafka, string group)
{
    var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
    {
        BootstrapServers = kafka.BootstrapServers,
        GroupId = group,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = false,
    }).Build();
    consumer.Subscribe(KafkaBroker.OperationalTopic);
    return consumer;
}

// Autovacuum would otherwise process a run's tables during the next measured run.
static async Task SettleAsync(string db)
{
    await using var connection = new NpgsqlConnection(db);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand("vacuum analyze", connection) { CommandTimeout = 600 };
    await command.ExecuteNonQueryAsync();
}

// The floor for any writer of these rows: read the records, parse them, COPY them, nothing else.
static async Task<Measured> IdealWriterAsync(PostgresServer postgres, KafkaBroker kafka, int total, int from)
{
    var db = await MigratedDatabaseAsync(postgres);
    using var consumer = BenchConsumer(kafka, "bench-ideal");
    await using var connection = new NpgsqlConnection(db);
    await connection.OpenAsync();
    await Jit.QuietAsync();
    var window = new Window(postgres);
    var now = DateTimeOffset.UtcNow;
    await using (var copy = await connection.BeginBinaryImportAsync(
        "copy order_events (event_id, order_id, step, service, outcome, reason, occurred_at, ingested_at, topic, partition, \"offset\", flags, trace_id, attributes) from stdin (format binary)"))
    {
        for (var seen = 0; seen < total;)
        {
            var record = consumer.Consume(TimeSpan.FromSeconds(10));
            if (record is null)
            {
                continue;
            }

            if (++seen == from)
            {
                window.Open(from);
            }

            OperationalEventCodec.TryParse(record.Message.Key, record.Message.Value, out var e, out _);
            await copy.StartRowAsync();
            await copy.WriteAsync(e!.EventId, NpgsqlDbType.Uuid);
            await copy.WriteAsync(e.OrderId, NpgsqlDbType.Text);
            await copy.WriteAsync(e.Step, NpgsqlDbType.Text);
            await copy.WriteAsync(e.Service, NpgsqlDbType.Text);
            await copy.WriteAsync(StepOutcomeNames.Succeeded, NpgsqlDbType.Text);
            await copy.WriteNullAsync();
            await copy.WriteAsync(e.OccurredAt, NpgsqlDbType.TimestampTz);
            await copy.WriteAsync(now, NpgsqlDbType.TimestampTz);
            await copy.WriteAsync(record.Topic, NpgsqlDbType.Text);
            await copy.WriteAsync(record.Partition.Value, NpgsqlDbType.Integer);
            await copy.WriteAsync(record.Offset.Value, NpgsqlDbType.Bigint);
            await copy.WriteAsync(Array.Empty<string>(), NpgsqlDbType.Array | NpgsqlDbType.Text);
            await copy.WriteNullAsync();
            await copy.WriteAsync(e.AttributesJson, NpgsqlDbType.Jsonb);
        }

        await copy.CompleteAsync();
    }

    var measured = window.Close(total);
    consumer.Close();
    await SettleAsync(db);
    return measured;
}

// Committed = covered by the offsets stored in PostgreSQL with the projection.
static async Task<(double Rate, string Cpu, TimeSpan FromStart, TimeSpan FirstCommit)> IngestAsync(PostgresServer postgres, KafkaBroker kafka, int total, int from)
{
    var db = await MigratedDatabaseAsync(postgres);
    var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Benchmark" });
    var settings = new Dictionary<string, string?>
    {
        ["ConnectionStrings:ReadModel"] = db,
        ["Kafka:BootstrapServers"] = kafka.BootstrapServers,
        ["Urls"] = "http://127.0.0.1:0",
        ["Serilog:MinimumLevel:Default"] = "Warning",
        ["Lag:Groups"] = "order-flow-console",
        ["Projection:MaxBatchSize"] = Environment.GetEnvironmentVariable("BENCH_BATCH") ?? "2000",
    };
    foreach (var (variable, key) in new[] { ("BENCH_CACHED_ORDERS", "Projection:CachedOrders"), ("BENCH_WRITERS", "Projection:Writers") })
    {
        if (Environment.GetEnvironmentVariable(variable) is { } value)
        {
            settings[key] = value;
        }
    }

    builder.Configuration.AddInMemoryCollection(settings);
    builder.AddIngestServices();
    await using var app = builder.Build();
    await StartupGuard.EnsureDependenciesAsync(app.Services);
    await Jit.QuietAsync();
    var sw = Stopwatch.StartNew();
    await app.StartAsync();
    await using var connection = new NpgsqlConnection(db);
    await connection.OpenAsync();
    var firstCommit = TimeSpan.Zero;
    Window? window = null;
    long done;
    do
    {
        await Task.Delay(20);
        await using var command = new NpgsqlCommand("select coalesce(sum(next_offset), 0)::bigint from consumer_offsets where topic = 'order-ops'", connection);
        done = (long)(await command.ExecuteScalarAsync())!;
        if (done > 0 && firstCommit == TimeSpan.Zero)
        {
            firstCommit = sw.Elapsed;
        }

        if (done >= from && window is null)
        {
            window = new Window(postgres);
            window.Open(done);
        }
    }
    while (done < total);

    var measured = window!.Close(done);
    var fromStart = sw.Elapsed;

    // Heap-only updates write no index entries (decision 0013); the statistics may lag a second behind.
    await using (var stats = new NpgsqlCommand("select n_tup_upd, n_tup_hot_upd, pg_relation_size('orders') from pg_stat_user_tables where relname = 'orders'", connection))
    await using (var row = await stats.ExecuteReaderAsync())
    {
        await row.ReadAsync();
        Console.WriteLine($"    orders: {row.GetInt64(0):N0} updates, {row.GetInt64(1):N0} of them heap-only; table {row.GetInt64(2) / 1048576.0:F1} MB");
    }

    await app.StopAsync();
    await SettleAsync(db);
    return (measured.Rate, measured.Cpu, fromStart, firstCommit);
}

/// <summary>A measured stretch of a run: events per second and CPU used between Open and Close.</summary>
internal sealed class Window(PostgresServer postgres)
{
    private readonly Stopwatch _clock = new();
    private Cpu.Reading _cpu;
    private long _events;

    public void Open(long eventsSoFar)
    {
        _events = eventsSoFar;
        _cpu = Cpu.Now(postgres);
        _clock.Start();
    }

    public Measured Close(long eventsSoFar) =>
        new((eventsSoFar - _events) / _clock.Elapsed.TotalSeconds, Cpu.Since(_cpu, postgres, eventsSoFar - _events));
}

internal sealed record Measured(double Rate, string Cpu);

/// <summary>A new database with the read model's schema, for one benchmark run.</summary>
internal static class BenchDatabase
{
    public static async Task<string> MigratedAsync(PostgresServer postgres, string name)
    {
        var db = await postgres.CreateDatabaseAsync(name);
        await using var context = new ReadModelDb(new DbContextOptionsBuilder<ReadModelDb>().UseNpgsql(db)
            .ConfigureWarnings(w => w.Ignore(Microsoft.EntityFrameworkCore.Diagnostics.RelationalEventId.PendingModelChangesWarning)).Options);
        await context.Database.MigrateAsync();
        return db;
    }
}

/// <summary>Sums Console.Ingest's projection metrics (ProjectionMetrics) while it is alive: the per-batch breakdown.</summary>
internal sealed class ProjectionPhases : IDisposable
{
    private readonly System.Diagnostics.Metrics.MeterListener _listener = new();
    private readonly Dictionary<string, (double Total, int Count)> _phases = [];
    private readonly Dictionary<string, long> _orders = [];

    public ProjectionPhases()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == OrderFlow.Ingest.Projection.ProjectionMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            lock (_phases)
            {
                var phase = (string)tags[0].Value!;
                var (total, count) = _phases.GetValueOrDefault(phase);
                _phases[phase] = (total + value, count + 1);
            }
        });
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            lock (_phases)
            {
                var source = (string)tags[0].Value!;
                _orders[source] = _orders.GetValueOrDefault(source) + value;
            }
        });
        _listener.Start();
    }

    public override string ToString()
    {
        lock (_phases)
        {
            var batches = _phases.TryGetValue("events", out var e) ? e.Count : 0;
            var parts = _phases.Select(p => $"{p.Key} {p.Value.Total / Math.Max(1, p.Value.Count):F1}");
            return $"ms per batch ({batches} written): {string.Join(", ", parts)}\n    orders folded from: {string.Join(", ", _orders.Select(o => $"{o.Key} {o.Value:N0}"))}";
        }
    }

    public void Dispose() => _listener.Dispose();
}

/// <summary>CPU seconds used by this process (and by its JIT) and by the PostgreSQL server (postmaster, its live and reaped children).</summary>
internal static class Cpu
{
    /// <summary>CPU seconds, and this process's allocations and garbage-collector pauses so far.</summary>
    public readonly record struct Reading(double Client, double Postgres, double Jit, long Allocated, TimeSpan GcPaused, int Gen2);

    public static Reading Now(PostgresServer postgres)
    {
        var client = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        var jit = System.Runtime.JitInfo.GetCompilationTime().TotalSeconds;
        var gc = (Allocated: GC.GetTotalAllocatedBytes(precise: true), Paused: GC.GetTotalPauseDuration(), Gen2: GC.CollectionCount(2));
        var postmaster = Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(d => d!.All(char.IsDigit))
            .FirstOrDefault(pid => ReadOrEmpty($"/proc/{pid}/cmdline").Replace('\0', ' ').Contains($"-p {postgres.Port} ", StringComparison.Ordinal));
        if (postmaster is null)
        {
            return new(client, double.NaN, jit, gc.Allocated, gc.Paused, gc.Gen2);
        }

        double ticks = 0;
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            var stat = ReadOrEmpty(Path.Combine(dir, "stat"));
            var fields = stat.Length == 0 ? [] : stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields.Length < 15)
            {
                continue;
            }

            var self = Path.GetFileName(dir) == postmaster;
            if (self || fields[1] == postmaster)
            {
                // fields[11..14]: utime, stime, cutime, cstime in clock ticks; exited backends count in the postmaster's c*time.
                ticks += Field(11) + Field(12) + (self ? Field(13) + Field(14) : 0);
            }

            double Field(int i) => double.Parse(fields[i], System.Globalization.CultureInfo.InvariantCulture);
        }

        return new(client, ticks / 100.0, jit, gc.Allocated, gc.Paused, gc.Gen2);
    }

    public static string Since(Reading start, PostgresServer postgres, long events)
    {
        var now = Now(postgres);
        double PerEvent(double seconds) => seconds * 1e6 / events;
        return $"CPU per event: benchmark process {PerEvent(now.Client - start.Client),5:F1} us (JIT {PerEvent(now.Jit - start.Jit):F1}), PostgreSQL {PerEvent(now.Postgres - start.Postgres),5:F1} us;"
            + $" allocated {(now.Allocated - start.Allocated) / (double)events:N0} B/event, GC paused {PerEvent((now.GcPaused - start.GcPaused).TotalSeconds):F1} us/event ({now.Gen2 - start.Gen2} gen2)";
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }
}

/// <summary>Start-up code is re-compiled by the tiered JIT in the background for a while; a measured run waits until it has gone quiet.</summary>
internal static class Jit
{
    public static async Task QuietAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        var count = System.Runtime.JitInfo.GetCompiledMethodCount();
        var quietSince = DateTime.UtcNow;
        while (DateTime.UtcNow < deadline && DateTime.UtcNow - quietSince < TimeSpan.FromSeconds(1))
        {
            await Task.Delay(100);
            var now = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (now != count)
            {
                count = now;
                quietSince = DateTime.UtcNow;
            }
        }
    }
}
