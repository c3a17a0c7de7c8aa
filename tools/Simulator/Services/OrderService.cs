using System.Collections.Concurrent;
using System.Globalization;

namespace OrderFlow.Simulator.Services;

/// <summary>
/// The order service (group order-service): completes an order once both shipped and payment-authorized succeeded,
/// never one that expired or was cancelled; expires an order on an operator's request, once per order; and expires an
/// order whose payment was not authorized within Simulator:PaymentWindow (an outreach starts the window again).
/// It also places the new orders (<see cref="OrderPlacement"/>).
/// </summary>
public sealed class OrderService(EventPublisher publisher, IOptions<SimulatorOptions> options, TimeProvider clock, ILogger<OrderService> logger)
    : ReactingService(publisher, options, clock, logger, Group, Steps.OrderPlaced, Steps.Shipped, Steps.PaymentAuthorized, Steps.OrderExpired, Steps.OrderCancelled)
{
    public const string Group = "order-service";

    /// <summary>How often orders past their payment window are looked for.</summary>
    private static readonly TimeSpan UnpaidCheck = TimeSpan.FromMilliseconds(250);

    private readonly Dictionary<string, string> _halfDone = [];
    private readonly RecentSet _ended = new(Memory);
    private readonly RecentSet _expiryRequested = new(Memory);

    /// <summary>Orders placed and not yet paid, with the end of their payment window (at most <see cref="ConsumingService.Memory"/>).</summary>
    private readonly ConcurrentDictionary<string, Unpaid> _unpaid = new(StringComparer.Ordinal);
    private int _unpaidCount;
    private int _unpaidFull;

    private sealed record Unpaid(DateTimeOffset Until, string? Channel, Guid? OutreachCommandId);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (Options.PaymentWindow <= TimeSpan.Zero)
        {
            await base.ExecuteAsync(stoppingToken);
            return;
        }

        // Either loop ending ends the other; a failure of either then stops the simulator, as any other failure does.
        using var both = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var consuming = base.ExecuteAsync(both.Token);
        var expiring = ExpireUnpaidAsync(both.Token);
        await Task.WhenAny(consuming, expiring);
        await both.CancelAsync();
        await Task.WhenAll(consuming, expiring);
    }

    protected override async Task ReactAsync(OperationalEvent e, ConsumeResult<byte[]?, byte[]?> record, CancellationToken stoppingToken)
    {
        switch (e.Step)
        {
            case Steps.OrderPlaced:
                // The window runs from when this service sees the order (not the event's own time: a replayed old order
                // would expire at once).
                if (Options.PaymentWindow > TimeSpan.Zero && !_ended.Contains(e.OrderId))
                {
                    Track(e.OrderId, new Unpaid(Clock.GetUtcNow() + Options.PaymentWindow, null, null));
                }

                return;
            case Steps.PaymentAuthorized:
                Forget(e.OrderId);
                break;
            case Steps.OrderExpired or Steps.OrderCancelled:
                Forget(e.OrderId);
                _halfDone.Remove(e.OrderId);
                _ended.Add(e.OrderId);
                return;
        }

        if (_ended.Contains(e.OrderId) || _expiryRequested.Contains(e.OrderId))
        {
            // Ended, or being expired by this service: never completed as well.
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

    /// <summary>An outreach asks the customer to pay again: an order still unpaid gets a whole payment window from now.</summary>
    public void RestartPaymentWindow(ControlEvent command, PaymentRetryOutreachRequested outreach)
    {
        var orderId = command.OrderId!;
        if (_unpaid.TryGetValue(orderId, out var unpaid))
        {
            _unpaid.TryUpdate(orderId, new Unpaid(Clock.GetUtcNow() + Options.PaymentWindow, outreach.Channel, command.CommandId), unpaid);
        }
    }

    /// <summary>
    /// Expires the orders whose payment window ended unpaid — as a shop that does not hold stock for an order nobody pays
    /// would. Same name-based event id as any other expiry, so one that races an operator's or the SLA watcher's folds as
    /// a duplicate. What could not be published is tried again at the next look.
    /// </summary>
    private async Task ExpireUnpaidAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(UnpaidCheck, Clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = Clock.GetUtcNow();
                foreach (var (orderId, unpaid) in _unpaid)
                {
                    if (unpaid.Until > now)
                    {
                        continue;
                    }

                    // Claimed first: an entry paid, ended or given a new window since it was read is not this one any more.
                    if (!_unpaid.TryRemove(KeyValuePair.Create(orderId, unpaid)))
                    {
                        continue;
                    }

                    Interlocked.Decrement(ref _unpaidCount);
                    if (_ended.Contains(orderId) || !_expiryRequested.Add(orderId))
                    {
                        continue;
                    }

                    var reason = unpaid.Channel is null
                        ? $"payment not authorized within {Window(Options.PaymentWindow)} of the order"
                        : $"payment not authorized within {Window(Options.PaymentWindow)} of the {unpaid.Channel} outreach";
                    // Not "outreachCommandId": the outreach report counts an event carrying that as the customer's retried payment.
                    var window = Options.PaymentWindow.ToString("c", CultureInfo.InvariantCulture);
                    object attributes = unpaid.OutreachCommandId is { } outreach
                        ? new { expiredBy = Group, paymentWindow = window, afterOutreachCommandId = outreach }
                        : new { expiredBy = Group, paymentWindow = window };
                    try
                    {
                        await Publisher.PublishAsync(orderId, Steps.OrderExpired, Group, reason: reason, attributes: attributes,
                            eventId: NameBasedEventId.For(Steps.OrderExpired, orderId));
                    }
                    catch (ProduceException<string, byte[]> ex)
                    {
                        Logger.LogWarning("order-service could not expire unpaid {OrderId}: {Reason}; trying again", orderId, ex.Error.Reason);
                        _expiryRequested.Remove(orderId);
                        Track(orderId, unpaid);
                        continue;
                    }

                    Logger.LogInformation("order-service: {OrderId} expired, {Reason}", orderId, reason);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Track(string orderId, Unpaid unpaid)
    {
        if (Volatile.Read(ref _unpaidCount) >= Memory)
        {
            if (Interlocked.Exchange(ref _unpaidFull, 1) == 0)
            {
                Logger.LogWarning("order-service: {Memory} unpaid orders remembered; orders placed from now on get no payment window until some are paid or expire", Memory);
            }

            return;
        }

        if (_unpaid.TryAdd(orderId, unpaid))
        {
            Interlocked.Increment(ref _unpaidCount);
        }
    }

    private void Forget(string orderId)
    {
        if (_unpaid.TryRemove(orderId, out _))
        {
            Interlocked.Decrement(ref _unpaidCount);
        }
    }

    private static string Window(TimeSpan window) => window.TotalMinutes >= 1 && window.Seconds == 0
        ? $"{window.TotalMinutes:0} min"
        : string.Create(CultureInfo.InvariantCulture, $"{window.TotalSeconds:0.#} s");
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
