namespace OrderFlow.Web.Orders;

/// <summary>The public JSON API over orders (documented in docs/api.md).</summary>
public static class OrdersApi
{
    public static IEndpointRouteBuilder MapOrdersApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/orders");
        api.MapGet("/", async (HttpContext http, OrderQueries queries, string? after, int? take, CancellationToken ct) =>
        {
            var search = OrderSearch.FromQuery(http.Request.Query.ToDictionary(q => q.Key, q => (string?)q.Value.ToString()));
            return search.Problem() is { } problem
                ? Results.Problem(problem, statusCode: StatusCodes.Status400BadRequest)
                : Results.Ok(await queries.SearchAsync(search, after, take ?? 50, ct));
        }).Produces<OrderResults>().ProducesProblem(StatusCodes.Status400BadRequest);
        api.MapGet("/{orderId}", async (OrderQueries queries, string orderId, CancellationToken ct) =>
            await queries.FindAsync(orderId, ct) is { } detail
                ? Results.Ok(detail)
                : Results.Problem($"no order {orderId} in the read model", statusCode: StatusCodes.Status404NotFound))
            .Produces<OrderDetail>().ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }
}
