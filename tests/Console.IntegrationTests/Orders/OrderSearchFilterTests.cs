using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using OrderFlow.Domain.Events;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Sla;
using OrderFlow.Domain.Workflow;
using OrderFlow.Platform.Workflow;
using OrderFlow.Testing;
using OrderFlow.Web.Orders;

namespace OrderFlow.IntegrationTests.Orders;

/// <summary>
/// Every order-search filter returns exactly the orders it names (decision 0023): orders written by the real projection
/// (real broker, real PostgreSQL), read with OrderQueries at explicit moments (a fake clock), compared with what the
/// domain says of each order's folded events. At-risk is checked at every in-flight order's at-risk moment and one
/// microsecond before it, including an order whose earliest deadline is the end-to-end clock that turns it at-risk —
/// the case where the watch time lies exactly (1 − share) × the longest SLA after the at-risk moment.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class OrderSearchFilterTests(PostgresServer postgres) : IDisposable
{
    private const double Share = 0.8;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly WorkflowDefinition Workflow = WorkflowDefinition.Default;
    private readonly KafkaBroker _kafka = new();

    [Fact]
    public async Task Each_filter_returns_exactly_the_orders_it_names_at_any_moment()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        // No SLA watcher (its breaches come from the real clock): the breached order below is marked as it would leave it.
        // Each order's events, published together, wait for each other in one batch (a second at most), so an order's
        // first row carries its final watch time (ORD-LATE-STOCK below); split over batches the watch time would stay at
        // an earlier deadline until the watcher moves it on (decision 0013).
        await using (await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: new Dictionary<string, string?> { ["Sla:ExpiryPolicy"] = "Off", ["Projection:MaxBatchWait"] = "00:00:01" }))
        {
            using var producer = _kafka.CreateProducer();
            var placedTwice = Guid.NewGuid();
            var orders = new (string Id, OperationalEvent[] Events)[]
            {
                ("ORD-DONE", [.. Events.HappyPath("ORD-DONE")]),
                ("ORD-EXPIRED", [Events.Step("ORD-EXPIRED", "order-placed", 0), Events.Step("ORD-EXPIRED", "order-expired", 200)]),
                ("ORD-CANCELLED", [Events.Step("ORD-CANCELLED", "order-placed", 0), Events.Step("ORD-CANCELLED", "payment-authorized", 5, succeeded: false, reason: "card declined"),
                    Events.Step("ORD-CANCELLED", "order-cancelled", 60)]),
                ("ORD-WAITS-BOTH", [Events.Step("ORD-WAITS-BOTH", "order-placed", 0)]),
                ("ORD-WAITS-SHIP", [Events.Step("ORD-WAITS-SHIP", "order-placed", 0), Events.Step("ORD-WAITS-SHIP", "payment-authorized", 10), Events.Step("ORD-WAITS-SHIP", "stock-reserved", 20)]),
                ("ORD-FAILED", [Events.Step("ORD-FAILED", "order-placed", 0), Events.Step("ORD-FAILED", "payment-authorized", 5, succeeded: false, reason: "card declined")]),
                // Shipped ready at 130 s (due 190 s): the end-to-end clock (at-risk 144 s, due 180 s) is both the first at risk and the first due.
                ("ORD-LATE-STOCK", [Events.Step("ORD-LATE-STOCK", "order-placed", 0), Events.Step("ORD-LATE-STOCK", "payment-authorized", 10), Events.Step("ORD-LATE-STOCK", "stock-reserved", 130)]),
                ("ORD-PLACED-LATER", [Events.Step("ORD-PLACED-LATER", "order-placed", 100)]),
                ("ORD-DUPLICATE", [Events.Step("ORD-DUPLICATE", "order-placed", 0, eventId: placedTwice), Events.Step("ORD-DUPLICATE", "order-placed", 0, eventId: placedTwice)]),
                ("ORD-BREACHED", [Events.Step("ORD-BREACHED", "order-placed", 0), Events.Step("ORD-BREACHED", "stock-reserved", 20)]),
                ("OTHER-1", [Events.Step("OTHER-1", "order-placed", 30)]),
            };
            foreach (var (id, events) in orders)
            {
                // One at a time, so first_seen_at follows this list and the time range below can fall between two orders.
                await producer.PublishAsync(events);
                await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events where order_id = @id", ("id", id)),
                    n => n == events.Length, Timeout, $"{id} projected");
            }
        }

        await using var dataSource = NpgsqlDataSource.Create(db);
        await ExecuteAsync(dataSource,
            """
            update orders set sla_state = 'breached', sla_scope = null, sla_due_at = null, sla_watch_at = null where order_id = 'ORD-BREACHED';
            insert into dead_letters (dlq_topic, dlq_partition, dlq_offset, headers, order_id, first_seen_at, error_reason)
            values ('payments-dlq', 0, 1, '{}', 'ORD-WAITS-SHIP', now(), 'timeout'), ('payments-dlq', 0, 2, '{}', 'ORD-DONE', now(), 'timeout');
            """);
        var states = await readModel.StoredStatesAsync();
        var firstSeen = (await readModel.RowsAsync("select order_id, first_seen_at from orders")).ToDictionary(r => (string)r["order_id"]!, r => new DateTimeOffset((DateTime)r["first_seen_at"]!));
        var flagged = (await readModel.RowsAsync("select distinct order_id from order_events where flags <> '{}'")).Select(r => (string)r["order_id"]!).ToHashSet();
        var breached = new HashSet<string> { "ORD-BREACHED" };
        var deadLetters = new HashSet<string> { "ORD-WAITS-SHIP", "ORD-DONE" };
        var lateStock = Assert.Single(await readModel.RowsAsync("select sla_at_risk_at, sla_watch_at from orders where order_id = 'ORD-LATE-STOCK'"));
        Assert.Equal(TimeSpan.FromSeconds(36), (DateTime)lateStock["sla_watch_at"]! - (DateTime)lateStock["sla_at_risk_at"]!);

        bool InFlight(string id) => states[id].Status == OrderStatus.InProgress;
        DateTimeOffset AtRiskAt(string id) => SlaEvaluation.Clocks(states[id], Workflow).Min(c => c.AtRiskAt(Share));
        bool AtRisk(string id, DateTimeOffset now) => InFlight(id) && !breached.Contains(id) && AtRiskAt(id) <= now;
        var from = firstSeen["ORD-WAITS-SHIP"];
        var to = firstSeen["ORD-PLACED-LATER"];

        // Moments: before anything is at risk, each in-flight order's at-risk moment and a microsecond before, long after.
        var moments = new List<DateTimeOffset> { Events.T0, Events.T0.AddDays(1) };
        foreach (var id in states.Keys.Where(id => InFlight(id) && !breached.Contains(id)))
        {
            moments.Add(AtRiskAt(id));
            moments.Add(AtRiskAt(id).AddTicks(-10));
        }

        foreach (var now in moments)
        {
            var clock = new FakeTimeProvider(now);
            var queries = new OrderQueries(dataSource, clock, new OrderFlow.Platform.Workflow.WorkflowCatalog(Workflow), Options.Create(new AtRiskOptions { AtRiskShare = Share }));
            var cases = new (string Query, Func<string, bool> Expected)[]
            {
                ("", _ => true),
                ("search=ORD-FAILED", id => id == "ORD-FAILED"),
                ("search=ORD-", id => id.StartsWith("ORD-", StringComparison.Ordinal)),
                ("search=ORD-WAITS", id => id.StartsWith("ORD-WAITS", StringComparison.Ordinal)),
                ("status=in-progress", InFlight),
                ("status=completed", id => states[id].Status == OrderStatus.Completed),
                ("status=expired", id => states[id].Status == OrderStatus.Expired),
                ("status=cancelled", id => states[id].Status == OrderStatus.Cancelled),
                ("step=shipped", id => InFlight(id) && states[id].Positions(Workflow).Contains("shipped")),
                ("step=payment-authorized", id => InFlight(id) && states[id].Positions(Workflow).Contains("payment-authorized")),
                ("step=stock-reserved", id => InFlight(id) && states[id].Positions(Workflow).Contains("stock-reserved")),
                ("sla=breached", id => InFlight(id) && breached.Contains(id)),
                ("sla=at-risk", id => AtRisk(id, now)),
                ("sla=on-track", id => InFlight(id) && !breached.Contains(id) && !AtRisk(id, now)),
                ("failure=true", id => states[id].OpenFailure() is not null),
                ("deadLetter=true", deadLetters.Contains),
                ("flagged=true", flagged.Contains),
                ($"from={from:O}&to={to:O}", id => firstSeen[id] >= from && firstSeen[id] < to),
                ($"status=in-progress&failure=true&from={from:O}", id => InFlight(id) && states[id].OpenFailure() is not null && firstSeen[id] >= from),
                ("sla=at-risk&step=shipped", id => AtRisk(id, now) && states[id].Positions(Workflow).Contains("shipped")),
                ("sla=on-track&deadLetter=true&sort=oldest", id => InFlight(id) && !breached.Contains(id) && !AtRisk(id, now) && deadLetters.Contains(id)),
            };
            foreach (var (query, expected) in cases)
            {
                var search = OrderSearch.FromQuery(query.Split('&', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2))
                    .ToDictionary(p => p[0], p => (string?)p[1]));
                var want = states.Keys.Where(expected).ToList();
                var (got, total) = await AllPagesAsync(queries, search);
                Assert.True(want.Order().SequenceEqual(got.Order()), $"{query} at {now:O}: expected [{string.Join(", ", want.Order())}], got [{string.Join(", ", got.Order())}]");
                Assert.Equal(want.Count, total);
                var sorted = search.EffectiveSort switch
                {
                    "id" => want.Order(StringComparer.Ordinal).ToList(),
                    "oldest" => [.. want.OrderBy(id => firstSeen[id]).ThenBy(id => id, StringComparer.Ordinal)],
                    _ => [.. want.OrderByDescending(id => firstSeen[id]).ThenByDescending(id => id, StringComparer.Ordinal)],
                };
                Assert.Equal(sorted, got);
            }
        }
    }

    /// <summary>Every match, two per page through the keyset cursor, and the first page's count.</summary>
    private static async Task<(List<string> Ids, long Total)> AllPagesAsync(OrderQueries queries, OrderSearch search)
    {
        var first = await queries.SearchAsync(search, after: null, take: 2);
        var ids = first.Items.Select(o => o.OrderId).ToList();
        for (var next = first.Next; next is not null;)
        {
            var page = await queries.SearchAsync(search, next, take: 2);
            ids.AddRange(page.Items.Select(o => o.OrderId));
            next = page.Next;
        }

        return (ids, first.Total);
    }

    private static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    public void Dispose() => _kafka.Dispose();
}
