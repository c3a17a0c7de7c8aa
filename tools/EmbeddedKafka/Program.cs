using OrderFlow.EmbeddedKafka;

// Usage: Console.EmbeddedKafka [--brokers N] [--topics name:partitions,...] [--bootstrap-file PATH]
// Prints the bootstrap address, writes it to --bootstrap-file, runs until Ctrl+C / SIGTERM.
// Console.EmbeddedKafka --check: loads librdkafka, starts and stops a mock cluster, prints one line (exit 0, or 1 with the reason).
if (args is ["--check"])
{
    return SelfCheck();
}

var brokers = 1;
var topics = "order-ops:6,order-control:3,payments-dlq:1,stock-dlq:1,shipping-dlq:1,order-retry:3";
string? bootstrapFile = null;
for (var i = 0; i < args.Length - 1; i += 2)
{
    switch (args[i])
    {
        case "--brokers": brokers = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--topics": topics = args[i + 1]; break;
        case "--bootstrap-file": bootstrapFile = args[i + 1]; break;
        default:
            Console.Error.WriteLine($"embedded-kafka: unknown option {args[i]} (known: --brokers, --topics, --bootstrap-file)");
            return 2;
    }
}

MockKafkaCluster cluster;
try
{
    cluster = new MockKafkaCluster(brokers);
}
catch (LibrdkafkaNotLoadableException e)
{
    Console.Error.WriteLine("embedded-kafka: " + e.Message);
    return 1;
}

using var owned = cluster;
foreach (var spec in topics.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
{
    var parts = spec.Split(':');
    var partitions = parts.Length > 1 ? int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) : 1;
    cluster.CreateTopic(parts[0], partitions);
}

if (bootstrapFile is not null)
{
    File.WriteAllText(bootstrapFile, cluster.BootstrapServers);
}

Console.WriteLine($"Kafka bootstrap: {cluster.BootstrapServers} (embedded librdkafka mock cluster, {brokers} broker(s); topics {topics})");

var stop = new TaskCompletionSource();
using var onInterrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, OnStop);
using var onTerminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, OnStop);
await stop.Task;
if (bootstrapFile is not null)
{
    File.Delete(bootstrapFile);
}

return 0;

static int SelfCheck()
{
    try
    {
        using var cluster = new MockKafkaCluster();
        cluster.CreateTopic("self-check", 1);
        Console.WriteLine($"librdkafka {NativeLibrdkafka.Version} loads from {NativeLibrdkafka.LoadedPath}; a mock cluster started at {cluster.BootstrapServers}");
        return 0;
    }
    catch (Exception e) when (e is LibrdkafkaNotLoadableException or InvalidOperationException)
    {
        Console.Error.WriteLine(e.Message);
        return 1;
    }
}

void OnStop(System.Runtime.InteropServices.PosixSignalContext context)
{
    context.Cancel = true;
    stop.TrySetResult();
}
