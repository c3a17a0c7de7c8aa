namespace OrderFlow.Web.Orders;

/// <summary>The public JSON API over orders (documented in docs/api.md).</summary>
public static class OrdersApi
{
    public static IEndpointRouteBuilder MapOrdersApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/orders");
        api.MapGet("/", async (OrderQueries queries, string? search, string? status, int? skip, int? take, CancellationToken ct) =>
        {
            if (!string.IsNullOrEmpty(status) && !OrderQueries.Statuses.Contains(status) && !OrderQueries.SlaStates.Contains(status))
            {
                return Results.Problem(
                    $"status must be one of {string.Join(", ", OrderQueries.Statuses.Concat(OrderQueries.SlaStates))}",
                    statusCode: StatusCodes.Status400BadRequest);
            }

            return Results.Ok(await queries.ListAsync(search, status, skip ?? 0, take ?? 50, ct));
        });
        api.MapGet("/{orderId}", async (OrderQueries queries, string orderId, CancellationToken ct) =>
            await queries.FindAsync(orderId, ct) is { } detail
                ? Results.Ok(detail)
                : Results.Problem($"no order {orderId} in the read model", statusCode: StatusCodes.Status404NotFound));
        return endpoints;
    }
}
