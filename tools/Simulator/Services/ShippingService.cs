namespace OrderFlow.Simulator.Services;

/// <summary>Ships an order once its stock is reserved, after Simulator:ShippingDelay of processing time.</summary>
public sealed class ShippingService(EventPublisher publisher, IOptions<SimulatorOptions> options, TimeProvider clock, ILogger<ShippingService> logger)
    : ReactingService(publisher, options, clock, logger, Group, Steps.StockReserved)
{
    public const string Group = "shipping-service";

    private static readonly string[] Carriers = ["DHL", "UPS", "DPD"];

    protected override async Task ReactAsync(OperationalEvent e, ConsumeResult<byte[]?, byte[]?> record, CancellationToken stoppingToken)
    {
        // Processing time: when it exceeds the order rate, this group's lag grows.
        await Task.Delay(Options.ShippingDelay, Clock, stoppingToken);
        await Publisher.PublishAsync(e.OrderId, Steps.Shipped, Group, attributes: new { carrier = Carriers[Random.Shared.Next(Carriers.Length)] },
            trace: TraceHeaders.From(record.Message.Headers));
    }
}
