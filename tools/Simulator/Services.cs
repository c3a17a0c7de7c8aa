using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using OrderFlow.Domain.Control;
using OrderFlow.Domain.Events;

namespace OrderFlow.Simulator;

/// <summary>Step names the simulated services publish and react to (they must match the console's workflow).</summary>
public static class Steps
{
    public const string OrderPlaced = "order-placed";
    public const string PaymentAuthorized = "payment-authorized";
    public const string StockReserved = "stock-reserved";
    public const string Shipped = "shipped";
    public const string OrderCompleted = "order-completed";
    public const string OrderExpired = "order-expired";
    public const string OrderCancelled = "order-cancelled";
    public const string PaymentRefunded = "payment-refunded";
    public const string StockReleased = "stock-released";
}

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

        var prefix = DateTime.UtcNow.ToString("HHmmss", CultureInfo.InvariantCulture);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1 / rate));
        var n = 0;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var orderId = $"ORD-{prefix}-{++n:D5}";
            try
            {
                await publisher.PublishAsync(orderId, Steps.OrderPlaced, "order-service", attributes: new
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

/// <summary>One consumer group reading its topics on a dedicated thread and handing each record over.</summary>
public abstract class ConsumingService(IOptions<SimulatorOptions> options, ILogger logger, string group) : BackgroundService
{
    /// <summary>How many orders (or commands) a service remembers before it forgets the oldest.</summary>
    protected const int Memory = 200_000;

    protected SimulatorOptions Options { get; } = options.Value;

    protected ILogger Logger { get; } = logger;

    protected abstract IReadOnlyList<string> Topics { get; }

    protected abstract Task HandleAsync(ConsumeResult<byte[]?, byte[]?> record, CancellationToken stoppingToken);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = Options.BootstrapServers,
            GroupId = group,
            AutoOffsetReset = Options.ConsumeFrom == ConsumeFrom.Earliest ? AutoOffsetReset.Earliest : AutoOffsetReset.Latest,
            EnableAutoCommit = true,
            SessionTimeoutMs = 10_000,
        })
            .SetPartitionsAssignedHandler((_, partitions) => Logger.LogInformation(
                "{Group} consuming {Partitions}", group, string.Join(", ", partitions.Select(p => $"{p.Topic}[{p.Partition.Value}]"))))
            .Build();
        consumer.Subscribe(Topics);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                ConsumeResult<byte[]?, byte[]?> record;
                try
                {
                    record = consumer.Consume(stoppingToken);
                }
                catch (ConsumeException ex) when (!ex.Error.IsFatal)
                {
                    // For example a topic that does not exist (yet): say so and keep the service alive.
                    Logger.LogWarning("{Group} could not consume: {Reason}", group, ex.Error.Reason);
                    await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
                    continue;
                }

                try
                {
                    await HandleAsync(record, stoppingToken);
                }
                catch (ProduceException<string, byte[]> ex)
                {
                    Logger.LogWarning("{Group} could not publish after {Topic}[{Partition}]@{Offset}: {Reason}", group, record.Topic, record.Partition.Value, record.Offset.Value, ex.Error.Reason);
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

/// <summary>A simulated service: its own consumer group on the operational topic, reacting to succeeded events of some steps.</summary>
public abstract class ReactingService(EventPublisher publisher, IOptions<SimulatorOptions> options, ILogger logger, string group, params string[] triggers)
    : ConsumingService(options, logger, group)
{
    protected EventPublisher Publisher { get; } = publisher;

    protected override IReadOnlyList<string> Topics => [Options.OperationalTopic];

    protected abstract Task ReactAsync(OperationalEvent e, ConsumeResult<byte[]?, byte[]?> record, CancellationToken stoppingToken);

    protected override Task HandleAsync(ConsumeResult<byte[]?, byte[]?> record, CancellationToken stoppingToken) =>
        OperationalEventCodec.TryParse(record.Message.Key, record.Message.Value, out var e, out _)
        && triggers.Contains(e!.Step) && e.Outcome == StepOutcome.Succeeded
            ? ReactAsync(e, record, stoppingToken)
            : Task.CompletedTask;

    /// <summary>A refund or release happens at most once per order: the same name-based event id whoever publishes it again.</summary>
    protected Task CompensateAsync(string service, string step, string compensates, OperationalEvent trigger, TraceHeaders trace) =>
        Publisher.PublishAsync(trigger.OrderId, step, service, attributes: new { compensates, trigger = trigger.Step, triggerEventId = trigger.EventId },
            eventId: NameBasedEventId.For(step, trigger.OrderId), trace: trace);
}

/// <summary>
/// Authorizes payments for placed orders (some fail, some turn out poison and go to the dead-letter topic), processes
/// replayed dead letters from the retry topic, retries a payment after an operator's outreach, and refunds an authorized
/// payment when its order expires or is cancelled.
/// </summary>
public sealed class PaymentService(EventPublisher publisher, IOptions<SimulatorOptions> options, ILogger<PaymentService> logger)
    : ReactingService(publisher, options, logger, Group, Steps.OrderPlaced, Steps.OrderCompleted, Steps.OrderExpired, Steps.OrderCancelled)
{
    public const string Group = "payment-service";

    private readonly RecentSet _authorized = new(Memory);
    private readonly RecentSet _ended = new(Memory);

    /// <summary>Also the retry topic: records there are original records of the dead-letter topic, produced again by a replay.</summary>
    protected override IReadOnlyList<string> Topics => [Options.OperationalTopic, Options.RetryTopic];

    protected override Task ReactAsync(OperationalEvent e, ConsumeResult<byte[]?, byte[]?> record, CancellationToken stoppingToken)
    {
        var trace = TraceHeaders.From(record.Message.Headers);
        switch (e.Step)
        {
            case Steps.OrderPlaced:
                return AuthorizeAsync(e, record, trace);
            case Steps.OrderCompleted:
                // Paid and delivered: nothing will ever be refunded, so the order can be forgotten.
                _authorized.Remove(e.OrderId);
                return Task.CompletedTask;
            default:
                return RefundAsync(e, trace);
        }
    }

    /// <summary>The customer retries the payment some time after an outreach; it succeeds with Simulator:OutreachSuccessRate.</summary>
    public void ScheduleOutreachRetry(ControlEvent command, PaymentRetryOutreachRequested outreach, TraceHeaders trace, CancellationToken stoppingToken)
    {
        var orderId = command.OrderId!;
        if (IsSettled(orderId, command.CommandId))
        {
            return;
        }

        _ = Task.Run(
            async () =>
            {
                try
                {
                    await Task.Delay(Options.OutreachRetryDelay, stoppingToken);
                    if (IsSettled(orderId, command.CommandId))
                    {
                        return;
                    }

                    var attributes = new { retry = true, outreachCommandId = command.CommandId, channel = outreach.Channel, provider = "simpay" };
                    if (Random.Shared.NextDouble() < Options.OutreachSuccessRate)
                    {
                        _authorized.Add(orderId);
                        await Publisher.PublishAsync(orderId, Steps.PaymentAuthorized, Group, attributes: attributes, trace: trace);
                    }
                    else
                    {
                        await Publisher.PublishAsync(orderId, Steps.PaymentAuthorized, Group, succeeded: false,
                            reason: $"payment retried after {outreach.Channel} outreach: card declined", attributes: attributes, trace: trace);
                    }
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                }
                catch (ProduceException<string, byte[]> ex)
                {
                    Logger.LogWarning("payment-service could not publish the outreach retry of {OrderId}: {Reason}", orderId, ex.Error.Reason);
                }
            },
            CancellationToken.None);
    }

    private bool IsSettled(string orderId, Guid commandId)
    {
        if (_ended.Contains(orderId))
        {
            Logger.LogInformation("payment-service: outreach {CommandId} for {OrderId} ignored, the order has ended", commandId, orderId);
            return true;
        }

        if (_authorized.Contains(orderId))
        {
            Logger.LogInformation("payment-service: outreach {CommandId} for {OrderId} ignored, the payment is already authorized", commandId, orderId);
            return true;
        }

        return false;
    }

    private async Task AuthorizeAsync(OperationalEvent placed, ConsumeResult<byte[]?, byte[]?> record, TraceHeaders trace)
    {
        var replayed = record.Topic == Options.RetryTopic;
        if (_ended.Contains(placed.OrderId) || _authorized.Contains(placed.OrderId))
        {
            Logger.LogInformation("payment-service: {OrderId} from {Topic} skipped, its payment is already settled", placed.OrderId, record.Topic);
            return;
        }

        if (!replayed && Random.Shared.NextDouble() < Options.PoisonRate)
        {
            // A record the payment service could not process: to its dead-letter topic, original key, value and
            // headers untouched, with the conventional error headers added.
            var headers = new Headers();
            foreach (var header in record.Message.Headers ?? [])
            {
                headers.Add(header.Key, header.GetValueBytes());
            }

            headers.Add("dlq-original-topic", Encoding.UTF8.GetBytes(record.Topic));
            headers.Add("dlq-original-partition", Encoding.UTF8.GetBytes(record.Partition.Value.ToString(CultureInfo.InvariantCulture)));
            headers.Add("dlq-original-offset", Encoding.UTF8.GetBytes(record.Offset.Value.ToString(CultureInfo.InvariantCulture)));
            headers.Add("dlq-error-reason", Encoding.UTF8.GetBytes("payment provider returned malformed response"));
            headers.Add("dlq-service", Encoding.UTF8.GetBytes(Group));
            await Publisher.PublishRawAsync(Options.PaymentsDeadLetterTopic, placed.OrderId, record.Message.Value!, headers);
            return;
        }

        object attributes = replayed ? new { provider = "simpay", replayed = true, replayedFrom = record.Topic } : new { provider = "simpay" };
        if (Random.Shared.NextDouble() < Options.PaymentFailureRate)
        {
            await Publisher.PublishAsync(placed.OrderId, Steps.PaymentAuthorized, Group, succeeded: false, reason: "invalid payment details", attributes: attributes, trace: trace);
            return;
        }

        _authorized.Add(placed.OrderId);
        await Publisher.PublishAsync(placed.OrderId, Steps.PaymentAuthorized, Group, attributes: attributes, trace: trace);
    }

    private async Task RefundAsync(OperationalEvent ended, TraceHeaders trace)
    {
        _ended.Add(ended.OrderId);
        if (!_authorized.Remove(ended.OrderId))
        {
            Logger.LogInformation("payment-service: {OrderId} {Step}, nothing to refund", ended.OrderId, ended.Step);
            return;
        }

        await CompensateAsync(Group, Steps.PaymentRefunded, Steps.PaymentAuthorized, ended, trace);
        Logger.LogInformation("payment-service: {OrderId} {Step}, payment refunded", ended.OrderId, ended.Step);
    }
}

/// <summary>Reserves stock for placed orders (unless stalled) and releases it when the order expires or is cancelled.</summary>
public sealed class StockService(EventPublisher publisher, IOptions<SimulatorOptions> options, ILogger<StockService> logger)
    : ReactingService(publisher, options, logger, Group, Steps.OrderPlaced, Steps.OrderCompleted, Steps.OrderExpired, Steps.OrderCancelled)
{
    public const string Group = "stock-service";

    private readonly RecentSet _reserved = new(Memory);
    private readonly RecentSet _ended = new(Memory);

    protected override async Task ReactAsync(OperationalEvent e, ConsumeResult<byte[]?, byte[]?> record, CancellationToken stoppingToken)
    {
        var trace = TraceHeaders.From(record.Message.Headers);
        switch (e.Step)
        {
            case Steps.OrderPlaced:
                if (Options.StockStalled || _ended.Contains(e.OrderId) || !_reserved.Add(e.OrderId))
                {
                    return;
                }

                await Publisher.PublishAsync(e.OrderId, Steps.StockReserved, Group, attributes: new { warehouse = "FRA-1" }, trace: trace);
                return;
            case Steps.OrderCompleted:
                _reserved.Remove(e.OrderId);
                return;
            default:
                _ended.Add(e.OrderId);
                if (!_reserved.Remove(e.OrderId))
                {
                    Logger.LogInformation("stock-service: {OrderId} {Step}, nothing to release", e.OrderId, e.Step);
                    return;
                }

                await CompensateAsync(Group, Steps.StockReleased, Steps.StockReserved, e, trace);
                Logger.LogInformation("stock-service: {OrderId} {Step}, stock released", e.OrderId, e.Step);
                return;
        }
    }
}

public sealed class ShippingService(EventPublisher publisher, IOptions<SimulatorOptions> options, ILogger<ShippingService> logger)
    : ReactingService(publisher, options, logger, "shipping-service", Steps.StockReserved)
{
    private static readonly string[] Carriers = ["DHL", "UPS", "DPD"];

    protected override async Task ReactAsync(OperationalEvent e, ConsumeResult<byte[]?, byte[]?> record, CancellationToken stoppingToken)
    {
        // Processing time: when it exceeds the order rate, this group's lag grows.
        await Task.Delay(Options.ShippingDelay, stoppingToken);
        await Publisher.PublishAsync(e.OrderId, Steps.Shipped, "shipping-service", attributes: new { carrier = Carriers[Random.Shared.Next(Carriers.Length)] },
            trace: TraceHeaders.From(record.Message.Headers));
    }
}

/// <summary>
/// The order service closing orders: completion once both shipped and payment-authorized succeeded, never for an order
/// that expired or was cancelled; and expiry on an operator's request, once per order.
/// </summary>
public sealed class CompletionService(EventPublisher publisher, IOptions<SimulatorOptions> options, ILogger<CompletionService> logger)
    : ReactingService(publisher, options, logger, Group, Steps.Shipped, Steps.PaymentAuthorized, Steps.OrderExpired, Steps.OrderCancelled)
{
    public const string Group = "order-service";

    private readonly Dictionary<string, string> _halfDone = [];
    private readonly RecentSet _ended = new(Memory);
    private readonly RecentSet _expiryRequested = new(Memory);

    protected override Task ReactAsync(OperationalEvent e, ConsumeResult<byte[]?, byte[]?> record, CancellationToken stoppingToken)
    {
        if (e.Step is Steps.OrderExpired or Steps.OrderCancelled)
        {
            _halfDone.Remove(e.OrderId);
            _ended.Add(e.OrderId);
            return Task.CompletedTask;
        }

        if (_ended.Contains(e.OrderId))
        {
            return Task.CompletedTask;
        }

        if (_halfDone.Remove(e.OrderId, out var other) && other != e.Step)
        {
            _ended.Add(e.OrderId);
            return Publisher.PublishAsync(e.OrderId, Steps.OrderCompleted, Group, trace: TraceHeaders.From(record.Message.Headers));
        }

        _halfDone[e.OrderId] = e.Step;
        return Task.CompletedTask;
    }

    /// <summary>
    /// Publishes order-expired for an operator's request. Once per order: a repeated request (another commandId) is
    /// ignored while the simulator runs, and the name-based event id — the same one the console's SLA watcher uses —
    /// makes a publication after a restart fold as a duplicate. An order this service saw end (completed, expired,
    /// cancelled) is not expired again.
    /// </summary>
    public async Task ExpireAsync(ControlEvent command, TraceHeaders trace)
    {
        var orderId = command.OrderId!;
        if (_ended.Contains(orderId))
        {
            Logger.LogInformation("order-service: expiry of {OrderId} requested by {CommandId} refused, the order has already ended", orderId, command.CommandId);
            return;
        }

        if (!_expiryRequested.Add(orderId))
        {
            Logger.LogInformation("order-service: expiry of {OrderId} requested by {CommandId} ignored, already published", orderId, command.CommandId);
            return;
        }

        await Publisher.PublishAsync(orderId, Steps.OrderExpired, Group, reason: command.Reason,
            attributes: new
            {
                expiredBy = Group,
                commandId = command.CommandId,
                requestedBy = new { user = command.RequestedBy.User, role = command.RequestedBy.Role },
                requestedAt = command.RequestedAt,
                reason = command.Reason,
            },
            eventId: NameBasedEventId.For(Steps.OrderExpired, orderId),
            trace: trace);
    }
}

/// <summary>The simulator's reactions to operator commands on the control topic (its own group, simulator-control).</summary>
public sealed class ControlService(PaymentService payments, CompletionService orders, IOptions<SimulatorOptions> options, ILogger<ControlService> logger)
    : ConsumingService(options, logger, Group)
{
    public const string Group = "simulator-control";

    private readonly RecentSet _seen = new(Memory);

    protected override IReadOnlyList<string> Topics => [Options.ControlTopic];

    protected override async Task HandleAsync(ConsumeResult<byte[]?, byte[]?> record, CancellationToken stoppingToken)
    {
        if (!ControlEventCodec.TryParse(record.Message.Key, record.Message.Value, out var command, out var error))
        {
            Logger.LogWarning("control: record {Topic}[{Partition}]@{Offset} ignored: {Error}", record.Topic, record.Partition.Value, record.Offset.Value, error);
            return;
        }

        if (!_seen.Add(command!.CommandId.ToString()))
        {
            Logger.LogInformation("control: command {CommandId} ({Type}) seen before, ignored", command.CommandId, command.Type);
            return;
        }

        var trace = TraceHeaders.From(record.Message.Headers);
        trace = trace with { CorrelationId = trace.CorrelationId ?? command.CommandId.ToString() };
        switch (command.Data)
        {
            case PaymentRetryOutreachRequested outreach:
                payments.ScheduleOutreachRetry(command, outreach, trace, stoppingToken);
                break;
            case OrderExpiryRequested:
                await orders.ExpireAsync(command, trace);
                break;
            case DeadLetterReplayed replayed:
                // Nothing to do here: the replayed record itself arrives on the retry topic, where the payment service reads it.
                Logger.LogInformation("control: dead letter {DeadLetterId} replayed to {RetryTopic}", replayed.DeadLetterId, replayed.RetryTopic);
                break;
            case DeadLetterPurged purged:
                Logger.LogInformation("control: dead letter {DeadLetterId} purged", purged.DeadLetterId);
                break;
        }

        Logger.LogInformation("control: handled {Type} {CommandId} (key {Key})", command.Type, command.CommandId, command.Key);
    }
}
