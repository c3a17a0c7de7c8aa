using Confluent.Kafka;
using Microsoft.Extensions.Options;

namespace OrderFlow.Platform.Kafka;

/// <summary>Asks the cluster for its metadata: the cheapest call that proves brokers answer.</summary>
public sealed class KafkaProbe(IOptions<KafkaOptions> options)
{
    public Task<(bool Reachable, string Detail)> CheckAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Task.Run(
            () =>
            {
                var o = options.Value;
                try
                {
                    using var admin = new AdminClientBuilder(new AdminClientConfig
                    {
                        BootstrapServers = o.BootstrapServers,
                        SocketTimeoutMs = (int)timeout.TotalMilliseconds,
                        LogConnectionClose = false,
                    }).SetLogHandler((_, _) => { }).Build();
                    var metadata = admin.GetMetadata(o.OperationalTopic, timeout);
                    var topic = metadata.Topics.FirstOrDefault();
                    if (topic is null || topic.Error.IsError)
                    {
                        return (false, $"topic {o.OperationalTopic} is not available ({topic?.Error.Reason ?? "no metadata"})");
                    }

                    return (true, $"{metadata.Brokers.Count} broker(s), {o.OperationalTopic} has {topic.Partitions.Count} partition(s)");
                }
                catch (KafkaException ex)
                {
                    return (false, ex.Error.Reason);
                }
            },
            cancellationToken);
}
