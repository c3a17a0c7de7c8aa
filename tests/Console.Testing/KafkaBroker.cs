using Confluent.Kafka;
using OrderFlow.EmbeddedKafka;

namespace OrderFlow.Testing;

/// <summary>The librdkafka mock cluster with the console's topics: real Kafka protocol on loopback, fault injection for chaos tests.</summary>
public sealed class KafkaBroker : IDisposable
{
    public const string OperationalTopic = "order-ops";

    public KafkaBroker(int brokers = 1)
    {
        Cluster = new MockKafkaCluster(brokers);
        Cluster.CreateTopic(OperationalTopic, 6);
        foreach (var topic in new[] { "order-control", "order-retry" })
        {
            Cluster.CreateTopic(topic, 3);
        }

        foreach (var topic in new[] { "payments-dlq", "stock-dlq", "shipping-dlq" })
        {
            Cluster.CreateTopic(topic, 1);
        }
    }

    public MockKafkaCluster Cluster { get; }

    public string BootstrapServers => Cluster.BootstrapServers;

    public IProducer<string, byte[]> CreateProducer() =>
        new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = BootstrapServers, EnableIdempotence = true, Acks = Acks.All }).Build();

    public void Dispose() => Cluster.Dispose();
}
