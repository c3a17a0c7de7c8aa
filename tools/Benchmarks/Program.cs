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

// Other benchmarks (docs/benchmarks.md): tools/benchmark.sh breach | catchup
if (args is ["breach", .. var breachArgs])
{
    await OrderFlow.Benchmarks.BreachDelay.RunAsync(breachArgs);
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
//   3. Console.Ingest: consume + fold + orders upsert + offsets, committed to PostgreSQL.
var events = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 200_000;
var orders = events / 5;
events = orders * 5;
Console.WriteLine($"Benchmark: {events:N0} operational events ({orders:N0} orders x 5 steps), 6 partitions, {Environment.ProcessorCount} cores");

var postgres = new PostgresServer();
await postgres.InitializeAsync();
using var kafka = new KafkaBroker();
try
{
    var produced = Produce(kafka, orders);
    Console.WriteLine($"  produce           {produced.TotalSeconds,7:F2} s  {events / produced.TotalSeconds,10:N0} events/s");

    var consume = ConsumeBare(kafka, events);
    Console.WriteLine($"  bare consume      {consume.TotalSeconds,7:F2} s  {events / consume.TotalSeconds,10:N0} events/s");

    var ideal = await IdealWriterAsync(postgres, kafka, events);
    Console.WriteLine($"  ideal COPY writer {ideal.TotalSeconds,7:F2} s  {events / ideal.TotalSeconds,10:N0} events/s");

    var ingest = await IngestAsync(postgres, kafka, events);
    Console.WriteLine($"  Console.Ingest    {ingest.TotalSeconds,7:F2} s  {events / ingest.TotalSeconds,10:N0} events/s");
    Console.WriteLine($"  ratio ingest / ideal writer: {ideal / ingest:F2}   ingest / bare consume: {consume / ingest:F2}");
}
finally
{
    await postgres.DisposeAsync();
}

static TimeSpan Produce(KafkaBroker kafka, int orders)
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
    for (var i = 0; i < orders; i++)
    {
        foreach (var e in Events.HappyPath($"ORD-B{i:D7}"))
        {
            producer.Produce(KafkaBroker.OperationalTopic, Events.ToMessage(e));
        }
    }

    producer.Flush(TimeSpan.FromMinutes(5));
    return sw.Elapsed;
}

static TimeSpan ConsumeBare(KafkaBroker kafka, int events)
{
    using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
    {
        BootstrapServers = kafka.BootstrapServers,
        GroupId = "bench-bare",
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = false,
    }).Build();
    consumer.Subscribe(KafkaBroker.OperationalTopic);
    var sw = Stopwatch.StartNew();
    var seen = 0;
    while (seen < events)
    {
        if (consumer.Consume(TimeSpan.FromSeconds(10)) is not null)
        {
            seen++;
        }
    }

    var elapsed = sw.Elapsed;
    consumer.Close();
    return elapsed;
}

static async Task<string> MigratedDatabaseAsync(PostgresServer postgres)
{
    var db = await postgres.CreateDatabaseAsync("bench");
    await using var context = new ReadModelDb(new DbContextOptionsBuilder<ReadModelDb>().UseNpgsql(db)
        .ConfigureWarnings(w => w.Ignore(Microsoft.EntityFrameworkCore.Diagnostics.RelationalEventId.PendingModelChangesWarning)).Options);
    await context.Database.MigrateAsync();
    return db;
}

// The floor for any writer of these rows: read the records, parse them, COPY them, nothing else.
static async Task<TimeSpan> IdealWriterAsync(PostgresServer postgres, KafkaBroker kafka, int events)
{
    var db = await MigratedDatabaseAsync(postgres);
    using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
    {
        BootstrapServers = kafka.BootstrapServers,
        GroupId = "bench-ideal",
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = false,
    }).Build();
    consumer.Subscribe(KafkaBroker.OperationalTopic);
    await using var connection = new NpgsqlConnection(db);
    await connection.OpenAsync();
    var sw = Stopwatch.StartNew();
    var now = DateTimeOffset.UtcNow;
    await using (var copy = await connection.BeginBinaryImportAsync(
        "copy order_events (event_id, order_id, step, service, outcome, reason, occurred_at, ingested_at, topic, partition, \"offset\", flags, trace_id, attributes) from stdin (format binary)"))
    {
        for (var seen = 0; seen < events;)
        {
            var record = consumer.Consume(TimeSpan.FromSeconds(10));
            if (record is null)
            {
                continue;
            }

            seen++;
            OperationalEventCodec.TryParse(record.Message.Key, record.Message.Value, out var e, out _);
            await copy.StartRowAsync();
            await copy.WriteAsync(e!.EventId, NpgsqlDbType.Uuid);
            await copy.WriteAsync(e.OrderId, NpgsqlDbType.Text);
            await copy.WriteAsync(e.Step, NpgsqlDbType.Text);
            await copy.WriteAsync(e.Service, NpgsqlDbType.Text);
            await copy.WriteAsync("succeeded", NpgsqlDbType.Text);
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

    var elapsed = sw.Elapsed;
    consumer.Close();
    return elapsed;
}

static async Task<TimeSpan> IngestAsync(PostgresServer postgres, KafkaBroker kafka, int events)
{
    var db = await MigratedDatabaseAsync(postgres);
    var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Benchmark" });
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["ConnectionStrings:ReadModel"] = db,
        ["Kafka:BootstrapServers"] = kafka.BootstrapServers,
        ["Urls"] = "http://127.0.0.1:0",
        ["Serilog:MinimumLevel:Default"] = "Warning",
        ["Lag:Groups"] = "order-flow-console",
        ["Projection:MaxBatchSize"] = Environment.GetEnvironmentVariable("BENCH_BATCH") ?? "2000",
    });
    builder.AddIngestServices();
    await using var app = builder.Build();
    await StartupGuard.EnsureDependenciesAsync(app.Services);
    var sw = Stopwatch.StartNew();
    await app.StartAsync();
    await using var connection = new NpgsqlConnection(db);
    await connection.OpenAsync();
    var firstCommit = TimeSpan.Zero;
    while (true)
    {
        await using var command = new NpgsqlCommand("select coalesce(sum(next_offset), 0)::bigint from consumer_offsets where topic = 'order-ops'", connection);
        var done = (long)(await command.ExecuteScalarAsync())!;
        if (done > 0 && firstCommit == TimeSpan.Zero)
        {
            firstCommit = sw.Elapsed;
        }

        if (done >= events)
        {
            break;
        }

        await Task.Delay(20);
    }

    var elapsed = sw.Elapsed;
    Console.WriteLine($"  (Console.Ingest first batch committed after {firstCommit.TotalSeconds:F2} s: group join and assignment)");
    await app.StopAsync();
    return elapsed;
}
