using System.ComponentModel.DataAnnotations;

namespace OrderFlow.Platform.Kafka;

/// <summary>Where the Kafka cluster is and which topics the console reads and writes. Section "Kafka".</summary>
public sealed class KafkaOptions
{
    public const string Section = "Kafka";

    [Required(ErrorMessage = "Kafka:BootstrapServers is not set (for example Kafka__BootstrapServers=127.0.0.1:9092)")]
    public string BootstrapServers { get; set; } = "";

    [Required]
    public string OperationalTopic { get; set; } = "order-ops";

    [Required]
    public string ControlTopic { get; set; } = "order-control";

    [Required]
    public string RetryTopic { get; set; } = "order-retry";

    /// <summary>The services' dead-letter topics. Comma-separated, so configuration replaces the default instead of appending to it.</summary>
    public string DeadLetterTopics { get; set; } = "payments-dlq,stock-dlq,shipping-dlq";

    public IReadOnlyList<string> DeadLetterTopicList => DeadLetterTopics.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Required]
    public string ConsumerGroup { get; set; } = "order-flow-console";

    /// <summary>How long start-up waits for the cluster before giving up with one line.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
