using System.Text;
using System.Text.Json;

namespace OrderFlow.Simulator;

/// <summary>Trace headers carried from what a service reacted to onto what it publishes.</summary>
public sealed record TraceHeaders(string? CorrelationId, string? TraceParent)
{
    public static TraceHeaders From(Headers? headers) => new(Last(headers, "correlation-id"), Last(headers, "traceparent"));

    private static string? Last(Headers? headers, string name)
    {
        if (headers is null || !headers.TryGetLastBytes(name, out var bytes))
        {
            return null;
        }

        try
        {
            var text = new UTF8Encoding(false, true).GetString(bytes).Trim();
            return text.Length is > 0 and <= 256 && !text.Any(char.IsControl) ? text : null;
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}

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

    /// <summary>
    /// Publishes one operational event. A fact that happens at most once per order (expiry, refund) passes a
    /// name-based <paramref name="eventId"/>, so publishing it again folds as a duplicate. The correlation-id header is
    /// the one of what the service reacted to, or else the OrderId.
    /// </summary>
    public Task PublishAsync(
        string orderId,
        string step,
        string service,
        bool succeeded = true,
        string? reason = null,
        object? attributes = null,
        Guid? eventId = null,
        TraceHeaders? trace = null)
    {
        var e = new OperationalEvent(eventId ?? Guid.NewGuid(), orderId, step, service, succeeded ? StepOutcome.Succeeded : StepOutcome.Failed, reason,
            clock.GetUtcNow(), OperationalEvent.CurrentSchemaVersion, JsonSerializer.Serialize(attributes ?? new { }));
        var headers = new Headers { { "correlation-id", Encoding.UTF8.GetBytes(trace?.CorrelationId ?? orderId) } };
        if (trace?.TraceParent is { } traceParent)
        {
            headers.Add("traceparent", Encoding.UTF8.GetBytes(traceParent));
        }

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
