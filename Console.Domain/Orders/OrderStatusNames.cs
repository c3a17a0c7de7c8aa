using OrderFlow.Domain.Workflow;

namespace OrderFlow.Domain.Orders;

/// <summary>An order's status as the read model, the JSON API and the screens name it (orders.status).</summary>
public static class OrderStatusNames
{
    public const string InProgress = "in-progress";
    public const string Completed = "completed";
    public const string Expired = "expired";
    public const string Cancelled = "cancelled";

    private static readonly WireNames<OrderStatus> Names = new(
        (OrderStatus.InProgress, InProgress), (OrderStatus.Completed, Completed), (OrderStatus.Expired, Expired), (OrderStatus.Cancelled, Cancelled));

    /// <summary>Every status, in the order the screens list them.</summary>
    public static IReadOnlyList<string> All => Names.All;

    public static string ToName(this OrderStatus status) => Names.Of(status);

    public static OrderStatus? Parse(string? name) => Names.Parse(name);
}
