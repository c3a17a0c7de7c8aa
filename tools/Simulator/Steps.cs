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
