using System.Text;
using Confluent.Kafka;

namespace OrderFlow.IntegrationTests.Actions;

/// <summary>A consumer of its own group that reads a topic from the start: what the console published, seen from outside.</summary>
public static class IndependentConsumer
{
    /// <summary>Reads until a record matches <paramref name="last"/> (and at least <paramref name="atLeast"/> were read).</summary>
    public static List<ConsumeResult<byte[], byte[]>> ReadUntil(
        string bootstrapServers, string topic, Func<ConsumeResult<string, byte[]>, bool> last, int atLeast, TimeSpan timeout)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "independent-" + Guid.NewGuid(),
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe(topic);
        var records = new List<ConsumeResult<byte[], byte[]>>();
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromSeconds(1)) is { } r)
            {
                records.Add(r);
                var asText = new ConsumeResult<string, byte[]> { Message = new Message<string, byte[]> { Key = r.Message.Key is null ? null! : Encoding.UTF8.GetString(r.Message.Key), Value = r.Message.Value } };
                if (records.Count >= atLeast && last(asText))
                {
                    return records;
                }
            }
        }

        throw new TimeoutException($"{topic}: the awaited record did not arrive ({records.Count} read)");
    }

    /// <summary>Every record the topic holds now: each partition read from its start to its end.</summary>
    public static List<ConsumeResult<byte[], byte[]>> ReadAll(string bootstrapServers, string topic, TimeSpan timeout)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        var partitions = admin.GetMetadata(topic, timeout).Topics.Single().Partitions.Select(p => new TopicPartition(topic, p.PartitionId)).ToList();
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "independent-" + Guid.NewGuid(),
            EnablePartitionEof = true,
        }).Build();
        consumer.Assign(partitions.Select(p => new TopicPartitionOffset(p, Offset.Beginning)));
        var records = new List<ConsumeResult<byte[], byte[]>>();
        var ended = new HashSet<int>();
        var deadline = DateTime.UtcNow + timeout;
        while (ended.Count < partitions.Count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{topic}: {ended.Count} of {partitions.Count} partitions read to their end ({records.Count} records)");
            }

            if (consumer.Consume(TimeSpan.FromSeconds(1)) is { } r)
            {
                if (r.IsPartitionEOF)
                {
                    ended.Add(r.Partition.Value);
                }
                else
                {
                    records.Add(r);
                }
            }
        }

        return records;
    }

    /// <summary>The value of a header as text (null when absent).</summary>
    public static string? Header(this ConsumeResult<byte[], byte[]> record, string key) =>
        record.Message.Headers.TryGetLastBytes(key, out var bytes) && bytes is not null ? Encoding.UTF8.GetString(bytes) : null;
}
