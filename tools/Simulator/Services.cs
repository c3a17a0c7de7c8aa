using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using OrderFlow.Domain.Events;

namespace OrderFlow.Simulator;

/// <summary>Places new orders at the configured rate.</summary>
public sealed class OrderService(EventPublisher publisher, IOptions<SimulatorOptions> options, ILogger<OrderService> logger) : BackgroundService
{
    private static readonly string[] Methods = ["card", "paypal", "invoice"];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var rate = options.Value.OrdersPerSecond;
        if (rate <= 0)
        {
            return;
        }

        var prefix = DateTime.UtcNow.ToString("HHmmss", System.Globalization.CultureInfo.InvariantCulture);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1 / rate));
        var n = 0;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var orderId = $"ORD-{prefix}-{++n:D5}";
            try
            {
                await publisher.PublishAsync(orderId, "order-placed", "order-service", attributes: new
                {
                    amount = Math.Round(Random.Shared.NextDouble() * 200 + 5, 2),
                    currency = "EUR",
                    paymentMethod = Methods[Random.Shared.Next(Methods.Length)],
                    items = Random.Shared.Next(1, 6),
                });
            }
            catch (ProduceException<string, byte[]> ex)
            {
                logger.LogWarning("order-service could not publish {OrderId}: {Reason}", orderId, ex.Error.Reason);
            }
        }
    }
}

/// <summary>A simulated service: its own consumer group on the operational topic, reacting to one step.</summary>
public abstract class ReactingService(EventPublisher publisher, IOptions<SimulatorOptions> options, ILogger logger, string group, params string[] triggers) : BackgroundService
{
    protected EventPublisher Publisher { get; } = publisher;

    protected SimulatorOptions Options { get; } = options.Value;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    protected abstract Task ReactAsync(OperationalEvent e, CancellationToken stoppingToken);

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = Options.BootstrapServers,
            GroupId = group,
            AutoOffsetReset = AutoOffsetReset.Latest,
            EnableAutoCommit = true,
            SessionTimeoutMs = 10_000,
        }).Build();
        consumer.Subscribe(Options.OperationalTopic);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var record = consumer.Consume(stoppingToken);
                if (OperationalEventCodec.TryParse(record.Message.Key, record.Message.Value, out var e, out _)
                    && triggers.Contains(e!.Step) && e.Outcome == StepOutcome.Succeeded)
                {
                    try
                    {
                        await ReactAsync(e, stoppingToken);
                    }
                    catch (ProduceException<string, byte[]> ex)
                    {
                        logger.LogWarning("{Group} could not publish for {OrderId}: {Reason}", group, e.OrderId, ex.Error.Reason);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            consumer.Close();
        }
    }
}

public sealed class PaymentService(EventPublisher publisher, IOptions<SimulatorOptions> options, ILogger<PaymentService> logger)
    : ReactingService(publisher, options, logger, "payment-service", "order-placed")
{
    protected override async Task ReactAsync(OperationalEvent e, CancellationToken stoppingToken)
    {
        if (Random.Shared.NextDouble() < Options.PoisonRate)
        {
            // A record the payment service could not process: to its dead-letter topic, with the conventional error headers.
            var headers = new Headers
            {
                { "dlq-original-topic", Encoding.UTF8.GetBytes(Options.OperationalTopic) },
                { "dlq-error-reason", Encoding.UTF8.GetBytes("payment provider returned malformed response") },
                { "dlq-service", Encoding.UTF8.GetBytes("payment-service") },
            };
            await Publisher.PublishRawAsync(Options.PaymentsDeadLetterTopic, e.OrderId, OperationalEventCodec.Serialize(e), headers);
            return;
        }

        if (Random.Shared.NextDouble() < Options.PaymentFailureRate)
        {
            await Publisher.PublishAsync(e.OrderId, "payment-authorized", "payment-service", succeeded: false, reason: "invalid payment details");
            return;
        }

        await Publisher.PublishAsync(e.OrderId, "payment-authorized", "payment-service", attributes: new { provider = "simpay" });
    }
}

public sealed class StockService(EventPublisher publisher, IOptions<SimulatorOptions> options, ILogger<StockService> logger)
    : ReactingService(publisher, options, logger, "stock-service", "order-placed")
{
    protected override Task ReactAsync(OperationalEvent e, CancellationToken stoppingToken) =>
        Options.StockStalled ? Task.CompletedTask : Publisher.PublishAsync(e.OrderId, "stock-reserved", "stock-service", attributes: new { warehouse = "FRA-1" });
}

public sealed class ShippingService(EventPublisher publisher, IOptions<SimulatorOptions> options, ILogger<ShippingService> logger)
    : ReactingService(publisher, options, logger, "shipping-service", "stock-reserved")
{
    private static readonly string[] Carriers = ["DHL", "UPS", "DPD"];

    protected override async Task ReactAsync(OperationalEvent e, CancellationToken stoppingToken)
    {
        // Processing time: when it exceeds the order rate, this group's lag grows.
        await Task.Delay(Options.ShippingDelay, stoppingToken);
        await Publisher.PublishAsync(e.OrderId, "shipped", "shipping-service", attributes: new { carrier = Carriers[Random.Shared.Next(Carriers.Length)] });
    }
}

/// <summary>The order service closing orders: completion once both shipped and payment-authorized succeeded.</summary>
public sealed class CompletionService(EventPublisher publisher, IOptions<SimulatorOptions> options, ILogger<CompletionService> logger)
    : ReactingService(publisher, options, logger, "order-service", "shipped", "payment-authorized")
{
    private readonly Dictionary<string, string> _halfDone = [];

    protected override Task ReactAsync(OperationalEvent e, CancellationToken stoppingToken)
    {
        if (_halfDone.Remove(e.OrderId, out var other) && other != e.Step)
        {
            return Publisher.PublishAsync(e.OrderId, "order-completed", "order-service");
        }

        _halfDone[e.OrderId] = e.Step;
        return Task.CompletedTask;
    }
}
