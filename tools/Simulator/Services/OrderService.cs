using System.Globalization;

namespace OrderFlow.Simulator.Services;

/// <summary>
/// The order service (group order-service): completes an order once both shipped and payment-authorized succeeded,
/// never one that expired or was cancelled; and expires an order on an operator's request, once per order.
/// It also places the new orders (<see cref="OrderPlacement"/>).
/// </summary>
public sealed class OrderService(EventPublisher publisher, IOptions<SimulatorOptions> options, TimeProvider clock, ILogger<OrderService> logger)
    : ReactingService(publisher, options, clock, logger, Group, Steps.Shipped, Steps.PaymentAuthorized, Steps.OrderExpired, Steps.OrderCancelled)
{
    public const string Group = "order-service";

    private readonly Dictionary<string, string> _halfDone = [];
    private readonly RecentSet _ended = new(Memory);
    private readonly RecentSet _expiryRequested = new(Memory);

    protected override async Task ReactAsync(OperationalEvent e, ConsumeResult<byte[]?, byte[]?> record, CancellationToken stoppingToken)
    {
        if (e.Step is Steps.OrderExpired or Steps.OrderCancelled)
        {
            _halfDone.Remove(e.OrderId);
            _ended.Add(e.OrderId);
            return;
        }

        if (_ended.Contains(e.OrderId))
        {
            return;
        }

        if (_halfDone.TryGetValue(e.OrderId, out var other) && other != e.Step)
        {
            await Publisher.PublishAsync(e.OrderId, Steps.OrderCompleted, Group, trace: TraceHeaders.From(record.Message.Headers));
            _halfDone.Remove(e.OrderId);
            _ended.Add(e.OrderId);
            return;
        }

        _halfDone[e.OrderId] = e.Step;
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

        if (_expiryRequested.Contains(orderId))
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
        _expiryRequested.Add(orderId);
    }
}

/// <summary>The order service's shop front: places new orders at the configured rate (it only produces).</summary>
public sealed class OrderPlacement(EventPublisher publisher, IOptions<SimulatorOptions> options, TimeProvider clock, ILogger<OrderPlacement> logger) : BackgroundService
{
    private static readonly string[] Methods = ["card", "paypal", "invoice"];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var rate = options.Value.OrdersPerSecond;
        if (rate <= 0)
        {
            return;
        }

        var prefix = clock.GetUtcNow().ToString("HHmmss", CultureInfo.InvariantCulture);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1 / rate), clock);
        var n = 0;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            // A placement that could not be published is an order the shop never took: the next tick places the next one.
            var orderId = $"ORD-{prefix}-{++n:D5}";
            try
            {
                await publisher.PublishAsync(orderId, Steps.OrderPlaced, OrderService.Group, attributes: new
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
