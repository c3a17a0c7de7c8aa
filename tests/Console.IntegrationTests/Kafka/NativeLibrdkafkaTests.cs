using Confluent.Kafka;
using OrderFlow.EmbeddedKafka;
using Xunit;

namespace OrderFlow.IntegrationTests.Kafka;

/// <summary>The mock cluster and Confluent.Kafka share one librdkafka file in a process (docs/decisions/0016).</summary>
public sealed class NativeLibrdkafkaTests
{
    [Fact]
    public void The_mock_cluster_binds_to_the_one_librdkafka_file_Confluent_Kafka_loaded()
    {
        using var cluster = new MockKafkaCluster();
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build();

        var mapped = File.ReadLines("/proc/self/maps")
            .Select(line => line.IndexOf('/', StringComparison.Ordinal) is var slash and >= 0 ? line[slash..] : "")
            .Where(path => Path.GetFileName(path).Contains("librdkafka", StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal)
            .ToList();

        Assert.Equal([NativeLibrdkafka.LoadedPath], mapped);
        Assert.StartsWith("2.", NativeLibrdkafka.Version, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_record_produced_through_Confluent_Kafka_reaches_the_mock_cluster_it_shares_the_library_with()
    {
        using var cluster = new MockKafkaCluster();
        cluster.CreateTopic("native-check", 1);
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build();

        var delivered = await producer.ProduceAsync("native-check", new Message<Null, string> { Value = "hello" });

        Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
        Assert.Equal(0, delivered.Offset.Value);
    }
}
