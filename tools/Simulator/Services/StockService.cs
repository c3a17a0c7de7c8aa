namespace OrderFlow.Simulator.Services;

/// <summary>Reserves stock for placed orders and releases it when the order expires or is cancelled; stalled, it consumes nothing.</summary>
public sealed class StockService(EventPublisher publisher, IOptions<SimulatorOptions> options, TimeProvider clock, ILogger<StockService> logger)
    : ReactingService(publisher, options, clock, logger, Group, Steps.OrderPlaced, Steps.OrderCompleted, Steps.OrderExpired, Steps.OrderCancelled)
{
    public const string Group = "stock-service";

    private readonly RecentSet _reserved = new(Memory);

    protected override bool Stalled => Options.StockStalled;
    private readonly RecentSet _ended = new(Memory);

    protected override async Task ReactAsync(OperationalEvent e, ConsumeResult<byte[]?, byte[]?> record, CancellationToken stoppingToken)
    {
        var trace = TraceHeaders.From(record.Message.Headers);
        switch (e.Step)
        {
            case Steps.OrderPlaced:
                if (_ended.Contains(e.OrderId) || _reserved.Contains(e.OrderId))
                {
                    return;
                }

                await Publisher.PublishAsync(e.OrderId, Steps.StockReserved, Group, attributes: new { warehouse = "FRA-1" }, trace: trace);
                _reserved.Add(e.OrderId);
                return;
            case Steps.OrderCompleted:
                _reserved.Remove(e.OrderId);
                return;
            default:
                if (!_reserved.Contains(e.OrderId))
                {
                    _ended.Add(e.OrderId);
                    Logger.LogInformation("stock-service: {OrderId} {Step}, nothing to release", e.OrderId, e.Step);
                    return;
                }

                await CompensateAsync(Group, Steps.StockReleased, Steps.StockReserved, e, trace);
                _reserved.Remove(e.OrderId);
                _ended.Add(e.OrderId);
                Logger.LogInformation("stock-service: {OrderId} {Step}, stock released", e.OrderId, e.Step);
                return;
        }
    }
}
