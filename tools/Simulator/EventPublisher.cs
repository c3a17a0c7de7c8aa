using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using OrderFlow.Domain.Events;

namespace OrderFlow.Simulator;

/// <summary>The one producer all simulated services share (idempotent, keyed by OrderId).</summary>
public sealed class EventPublisher(IOptions<SimulatorOptions> options, TimeProvider clock) : IDisposable
{
    private readonly IProducer<string, byte[]> _producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
    {
        BootstrapServers = options.Value.BootstrapServers,
        EnableIdempotence = true,
        Acks = Acks.All,
        LingerMs = 5,
        CompressionType = CompressionType.Lz4,
    }).Build();

    public Task PublishAsync(string orderId, string step, string service, bool succeeded = true, string? reason = null, object? attributes = null)
    {
        var e = new OperationalEvent(Guid.NewGuid(), orderId, step, service, succeeded ? StepOutcome.Succeeded : StepOutcome.Failed, reason,
            clock.GetUtcNow(), OperationalEvent.CurrentSchemaVersion, JsonSerializer.Serialize(attributes ?? new { }));
        var headers = new Headers { { "correlation-id", Encoding.UTF8.GetBytes(orderId) } };
        return _producer.ProduceAsync(options.Value.OperationalTopic, new Message<string, byte[]> { Key = orderId, Value = OperationalEventCodec.Serialize(e), Headers = headers });
    }

    public Task PublishRawAsync(string topic, string key, byte[] value, Headers headers) =>
        _producer.ProduceAsync(topic, new Message<string, byte[]> { Key = key, Value = value, Headers = headers });

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
    }
}
