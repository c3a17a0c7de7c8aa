using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using OrderFlow.Domain.Control;
using OrderFlow.Domain.Events;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Simulator;

/// <summary>The real simulator executable against the test broker: no orders of its own, no random poison, reacting at once.</summary>
internal static class SimulatorProcess
{
    public static AppProcess Start(KafkaBroker kafka, Dictionary<string, string>? settings = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["Kafka__BootstrapServers"] = kafka.BootstrapServers,
            ["Simulator__OrdersPerSecond"] = "0",
            ["Simulator__PoisonRate"] = "0",
            ["Simulator__PaymentFailureRate"] = "0",
            ["Simulator__ShippingDelay"] = "00:00:00",
            ["Simulator__OutreachRetryDelay"] = "00:00:00.200",
            // Every group starts at the beginning, so what the test produces before the groups joined is not skipped.
            ["Simulator__ConsumeFrom"] = "Earliest",
        };
        foreach (var (key, value) in settings ?? [])
        {
            environment[key] = value;
        }

        return AppProcess.Start("tools/Simulator", "Console.Simulator", environment);
    }

    public static Task WaitForOutputAsync(this AppProcess simulator, string text, TimeSpan timeout) =>
        Eventually.UntilAsync(() => Task.FromResult(simulator.Output), output => output.Contains(text, StringComparison.Ordinal), timeout, $"the simulator to log \"{text}\"");

    public static Message<string, byte[]> ToMessage(ControlEvent command, string? correlationId = null) => new()
    {
        Key = command.Key,
        Value = ControlEventCodec.Serialize(command),
        Headers = correlationId is null ? null : new Headers { { "correlation-id", Encoding.UTF8.GetBytes(correlationId) } },
    };

    public static ControlEvent Command(string orderId, ControlData data, string reason = "customer called") =>
        new(Guid.NewGuid(), orderId, new ControlRequester("alice@shop.example", "operator"), DateTimeOffset.UtcNow, reason, data);
}

/// <summary>Everything on one topic from its beginning, read in the background (assigned partitions, no consumer group).</summary>
internal sealed class TopicReader : IDisposable
{
    private readonly ConcurrentQueue<ConsumeResult<byte[]?, byte[]?>> _records = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly string _topic;

    public TopicReader(KafkaBroker kafka, string topic, int partitions)
    {
        _topic = topic;
        _loop = Task.Factory.StartNew(
            () =>
            {
                using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
                {
                    BootstrapServers = kafka.BootstrapServers,
                    GroupId = "test-reader",
                    EnableAutoCommit = false,
                }).Build();
                consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
                while (!_stop.IsCancellationRequested)
                {
                    try
                    {
                        if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: not null } record)
                        {
                            _records.Enqueue(record);
                        }
                    }
                    catch (ConsumeException)
                    {
                    }
                }
            },
            TaskCreationOptions.LongRunning);
    }

    public IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> Records => _records.ToArray();

    /// <summary>The records that are valid operational events, with their headers.</summary>
    public IReadOnlyList<(OperationalEvent Event, Headers Headers)> Events
    {
        get
        {
            var events = new List<(OperationalEvent Event, Headers Headers)>();
            foreach (var r in Records)
            {
                if (OperationalEventCodec.TryParse(r.Message.Key, r.Message.Value, out var e, out _))
                {
                    events.Add((e!, r.Message.Headers ?? []));
                }
            }

            return events;
        }
    }

    public IReadOnlyList<OperationalEvent> Of(string orderId) => Events.Select(x => x.Event).Where(e => e.OrderId == orderId).ToList();

    /// <summary>Waits for the first event that matches; on timeout says what the topic held and what the simulator logged.</summary>
    public async Task<(OperationalEvent Event, Headers Headers)> WaitForAsync(Func<OperationalEvent, bool> match, string what, AppProcess? simulator = null)
    {
        var deadline = DateTime.UtcNow + SimulatorTimeouts.Reaction;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var x in Events)
            {
                if (match(x.Event))
                {
                    return x;
                }
            }

            await Task.Delay(50);
        }

        var seen = string.Join("\n", Events.Select(x => $"  {x.Event.OrderId} {x.Event.Step} {x.Event.Outcome} {x.Event.AttributesJson}"));
        throw new TimeoutException($"Timed out after {SimulatorTimeouts.Reaction.TotalSeconds:0}s waiting for {what} on {_topic}. It holds:\n{seen}\nSimulator output:\n{simulator?.Output}");
    }

    public void Dispose()
    {
        _stop.Cancel();
        _loop.Wait(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }
}

internal static class SimulatorTimeouts
{
    /// <summary>Generous: the simulator's six consumer groups join the broker one after another at start.</summary>
    public static readonly TimeSpan Reaction = TimeSpan.FromSeconds(60);
}

internal static class AttributeExtensions
{
    public static JsonElement Attributes(this OperationalEvent e) => JsonDocument.Parse(e.AttributesJson).RootElement.Clone();

    public static string? Header(this Headers headers, string name) =>
        headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : null;
}
