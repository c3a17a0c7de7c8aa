using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using OrderFlow.Domain.Lag;
using OrderFlow.Testing;
using OrderFlow.Web.Lag;

namespace OrderFlow.IntegrationTests.Lag;

/// <summary>
/// The lag page's business impact reads how many orders wait at a group's step from the kept counts (decision 0024) and
/// only the deadlines due by the horizon's end through the watch-time index (decision 0013), not every waiting order's
/// row. Real PostgreSQL: what it reads equals the estimate over every waiting order's deadline.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class LagImpactReadTests(PostgresServer postgres)
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task The_impact_read_through_the_watch_index_equals_the_estimate_over_every_waiting_order()
    {
        var db = await postgres.CreateDatabaseAsync();
        await ReadModel.MigrateAsync(db);
        await using var dataSource = NpgsqlDataSource.Create(db);

        // (id, status, positions, due in seconds from now, watch in seconds from now, SLA state): the watch time is a lower
        // bound of the deadline. The watcher stops watching a breached order's step (S-BREACHED-*), or watches its next
        // deadline only (S-BREACHED-NEXT, the end-to-end one): neither may count as breaching within the horizon.
        var orders = new List<(string Id, string Status, string Positions, int? Due, int? Watch, string Sla)>
        {
            ("S-PAST", "in-progress", "{stock-reserved}", -60, -60, "on-track"),
            ("S-SOON-1", "in-progress", "{stock-reserved}", 30, 30, "on-track"),
            ("S-SOON-LAZY", "in-progress", "{stock-reserved}", 120, -10, "on-track"),
            ("S-SOON-3", "in-progress", "{stock-reserved}", 500, 400, "on-track"),
            ("S-LATER-LAZY", "in-progress", "{stock-reserved}", 7200, 300, "on-track"),
            ("S-NO-CLOCK", "in-progress", "{stock-reserved}", null, null, "on-track"),
            ("S-BREACHED-NEXT", "in-progress", "{stock-reserved}", 60, 60, "breached"),
            ("S-DONE", "completed", "{}", null, null, "on-track"),
            ("P-SOON", "in-progress", "{payment-authorized}", 10, 10, "on-track"),
            ("BOTH", "in-progress", "{payment-authorized,stock-reserved}", 200, 200, "on-track"),
        };
        orders.AddRange(Enumerable.Range(0, 30).Select(i => ($"S-LATER-{i}", "in-progress", "{stock-reserved}", (int?)(3600 + i), (int?)(3600 + i), "on-track")));
        orders.AddRange(Enumerable.Range(0, 20).Select(i => ($"S-BREACHED-{i}", "in-progress", "{stock-reserved}", (int?)null, (int?)null, "breached")));
        foreach (var (id, status, positions, due, watch, sla) in orders)
        {
            await ExecuteAsync(dataSource,
                """
                insert into orders (order_id, status, positions, last_event_at, updated_at, event_count, flagged_count, sla_state, first_seen_at, sla_due_at, sla_watch_at)
                values ($1, $2, $3::text[], $4, $4, 1, 0, $7, $4, $5, $6)
                """,
                id, status, positions, Now, At(due), At(watch), sla);
        }

        // The stock service 3,000 behind, draining 1 record/s over the last minute; the payment service caught up.
        await ExecuteAsync(dataSource,
            "insert into consumer_lag_status values ('stock-service', 'stock', 0, 'WARN', 3000, 3000, 'behind', $1), ('payment-service', 'payments', 0, 'OK', 0, 0, 'caught up', $1)",
            Now);
        await ExecuteAsync(dataSource,
            """
            insert into consumer_lag_samples values
                ($1, 'stock-service', 'stock', 0, 0, 3000, 3000), ($2, 'stock-service', 'stock', 0, 40, 3040, 3000),
                ($1, 'payment-service', 'payments', 0, 0, 0, 0), ($2, 'payment-service', 'payments', 0, 9, 9, 0)
            """,
            Now.AddSeconds(-50), Now.AddSeconds(-10));

        var groups = await new LagQueries(dataSource, new FakeTimeProvider(Now), Options.Create(new LagImpactOptions())).ListAsync();

        foreach (var (group, step, lag) in new[] { ("stock-service", "stock-reserved", 3000L), ("payment-service", "payment-authorized", 0L) })
        {
            var read = groups.Single(g => g.Group == group);
            var waiting = orders.Where(o => o.Status == "in-progress" && o.Positions.Contains(step, StringComparison.Ordinal)).ToList();
            var dues = waiting.Where(o => o.Sla != "breached").Select(o => At(o.Due) ?? DateTimeOffset.MaxValue).ToList();
            var expected = LagImpactEstimate.Estimate(lag, read.DrainPerSecond, waiting.Count, waiting.Count(o => o.Sla == "breached"),
                dues.Where(d => d <= Now + LagImpactEstimate.DefaultHorizon).ToList(), Now, LagImpactEstimate.DefaultHorizon);
            Assert.Equal(expected, read.Impact);
        }

        var stock = groups.Single(g => g.Group == "stock-service").Impact!;
        Assert.Equal(58, stock.Waiting);
        Assert.Equal(22, stock.AlreadyBreached); // 21 recorded as breached, S-PAST not yet
        Assert.Equal(1.0, groups.Single(g => g.Group == "stock-service").DrainPerSecond);
        // 36 pending, 3,000 s to drain: the four due within the horizon (30, 120, 200, 500 s) are reached after 83, 167,
        // 250 and 333 s: the first three breach. (Read with the breached orders taken as pending and S-BREACHED-NEXT's next
        // deadline among those due, as before, it said 1 already breached and 4 breaching.)
        Assert.Equal(3, stock.BreachWithinHorizon);
        Assert.Equal(0, groups.Single(g => g.Group == "payment-service").Impact!.BreachWithinHorizon);
    }

    private static DateTimeOffset? At(int? seconds) => seconds is { } s ? Now.AddSeconds(s) : null;

    private static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql, params object?[] values)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }

        await command.ExecuteNonQueryAsync();
    }
}
