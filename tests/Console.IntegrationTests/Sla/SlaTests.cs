using OrderFlow.Ingest.Sla;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Sla;

/// <summary>SLA deadlines, breaches and expiry through the real broker protocol and PostgreSQL, on the real clock.</summary>
[Collection(PostgresCollection.Name)]
public sealed class SlaTests(PostgresServer postgres) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);
    private readonly KafkaBroker _kafka = new();

    /// <summary>Stock reservation must happen within one second; everything else is generous.</summary>
    private static Dictionary<string, string?> Settings(ExpiryPolicy policy) => new()
    {
        ["Sla:ExpiryPolicy"] = policy.ToString(),
        ["Sla:CheckInterval"] = "00:00:00.100",
        ["Workflow:Steps:2:Sla"] = "00:00:01",
    };

    [Fact]
    public async Task An_order_that_misses_a_step_deadline_is_breached_and_the_breach_recorded_once()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: Settings(ExpiryPolicy.AlertOnly));
        using var producer = _kafka.CreateProducer();

        var now = DateTimeOffset.UtcNow;
        await producer.PublishAsync([Events.StepAt("ORD-LATE", "order-placed", now), Events.StepAt("ORD-LATE", "payment-authorized", now)]);
        await producer.PublishAsync([Events.StepAt("ORD-FINE", "order-placed", now), Events.StepAt("ORD-FINE", "stock-reserved", now)]);

        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from sla_breaches"), n => n >= 1, Timeout, "a breach");
        var breach = Assert.Single(await readModel.RowsAsync("select order_id, scope, due_at, detected_at from sla_breaches"));
        Assert.Equal("ORD-LATE", breach["order_id"]);
        Assert.Equal("stock-reserved", breach["scope"]);
        Assert.True((DateTime)breach["detected_at"]! >= (DateTime)breach["due_at"]!);
        Assert.Equal("breached", (await readModel.RowsAsync("select sla_state from orders where order_id = 'ORD-LATE'"))[0]["sla_state"]);
        Assert.Equal("in-progress", (await readModel.RowsAsync("select status from orders where order_id = 'ORD-LATE'"))[0]["status"]);
        Assert.NotEqual("breached", (await readModel.RowsAsync("select sla_state from orders where order_id = 'ORD-FINE'"))[0]["sla_state"]);
        Assert.Equal(0, await readModel.CountAsync("select count(*) from outbox"));
    }

    [Fact]
    public async Task A_breached_order_still_in_flight_has_its_later_end_to_end_breach_recorded_without_a_new_event()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        var settings = Settings(ExpiryPolicy.AlertOnly);
        settings["Workflow:EndToEndSla"] = "00:00:03";
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: settings);
        using var producer = _kafka.CreateProducer();

        // Stock is due after 1 s, the whole order after 3 s; nothing else is published.
        var placedAt = DateTimeOffset.UtcNow;
        await producer.PublishAsync([Events.StepAt("ORD-TWO", "order-placed", placedAt), Events.StepAt("ORD-TWO", "payment-authorized", placedAt)]);

        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from sla_breaches where order_id = 'ORD-TWO'"), n => n >= 2, Timeout, "the step and the end-to-end breach");
        var breaches = await readModel.RowsAsync("select scope, due_at, detected_at from sla_breaches where order_id = 'ORD-TWO' order by due_at");
        Assert.Equal(["stock-reserved", "end-to-end"], breaches.Select(b => (string)b["scope"]!));
        Assert.Equal(placedAt.UtcDateTime.AddSeconds(3), (DateTime)breaches[1]["due_at"]!, TimeSpan.FromMilliseconds(1));
        Assert.All(breaches, b => Assert.True((DateTime)b["detected_at"]! >= (DateTime)b["due_at"]!));
        var order = Assert.Single(await readModel.RowsAsync("select status, sla_state, sla_due_at, sla_watch_at from orders where order_id = 'ORD-TWO'"));
        Assert.Equal("in-progress", order["status"]);
        Assert.Equal("breached", order["sla_state"]);
        Assert.Null(order["sla_due_at"]);
        Assert.Null(order["sla_watch_at"]);
    }

    [Fact]
    public async Task An_order_moved_on_to_a_later_deadline_keeps_its_watch_time_and_is_watched_again_without_a_breach()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        var settings = Settings(ExpiryPolicy.AlertOnly);
        settings["Workflow:Steps:2:Sla"] = "00:00:03";
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: settings);
        using var producer = _kafka.CreateProducer();

        // Placed: stock due after 3 s, payment after 30 s. Stock reserved at once: payment (30 s) is the next deadline.
        var placedAt = DateTimeOffset.UtcNow;
        await producer.PublishAsync([Events.StepAt("ORD-MOVED", "order-placed", placedAt)]);
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from orders where order_id = 'ORD-MOVED'"), n => n == 1, Timeout, "the order to be projected");
        await producer.PublishAsync([Events.StepAt("ORD-MOVED", "stock-reserved", placedAt)]);
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from orders where order_id = 'ORD-MOVED' and event_count = 2"), n => n == 1, Timeout, "the second event folded");

        // The update changed no indexed column: the watch time still says 3 s, and PostgreSQL rewrote the row in place.
        var moved = Assert.Single(await readModel.RowsAsync("select sla_scope, sla_due_at, sla_watch_at from orders where order_id = 'ORD-MOVED'"));
        Assert.Equal("payment-authorized", moved["sla_scope"]);
        Assert.Equal(placedAt.UtcDateTime.AddSeconds(30), (DateTime)moved["sla_due_at"]!, TimeSpan.FromMilliseconds(1));
        Assert.Equal(placedAt.UtcDateTime.AddSeconds(3), (DateTime)moved["sla_watch_at"]!, TimeSpan.FromMilliseconds(1));
        await Eventually.UntilAsync(() => readModel.CountAsync("select n_tup_hot_upd from pg_stat_user_tables where relname = 'orders'"), n => n >= 1, Timeout, "a heap-only update of orders");

        // At 3 s the watcher finds nothing due: it watches the payment deadline next and records no breach.
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from orders where order_id = 'ORD-MOVED' and sla_watch_at = sla_due_at"), n => n == 1, Timeout, "the watch time moved on to the deadline");
        Assert.Equal(0, await readModel.CountAsync("select count(*) from sla_breaches"));
        Assert.Equal("on-track", (await readModel.RowsAsync("select sla_state from orders where order_id = 'ORD-MOVED'"))[0]["sla_state"]);
    }

    [Fact]
    public async Task An_order_projected_after_its_deadlines_passed_has_each_passed_clock_recorded_once()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: Settings(ExpiryPolicy.AlertOnly));
        using var producer = _kafka.CreateProducer();
        var anHourAgo = DateTimeOffset.UtcNow.AddHours(-1);

        // Placed an hour ago (Ingest catching up): stock, payment and the whole order are all overdue.
        await producer.PublishAsync([Events.StepAt("ORD-OLD", "order-placed", anHourAgo)]);
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from orders where order_id = 'ORD-OLD' and sla_state = 'breached' and sla_due_at is null"), n => n == 1, Timeout, "every clock breached");

        // Stock reserved late: the projection rewrites the deadlines (shipping now runs); the watcher records only what is new.
        await producer.PublishAsync([Events.StepAt("ORD-OLD", "stock-reserved", anHourAgo.AddSeconds(40))]);
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from orders where order_id = 'ORD-OLD' and event_count = 2 and sla_state = 'breached' and sla_due_at is null"), n => n == 1, Timeout, "the second event folded and its clocks checked");

        // Due after 1 s (stock, this class's setting), 30 s (payment), 40 + 60 s (shipping, once stock was reserved), 3 min (end to end).
        var scopes = (await readModel.RowsAsync("select scope from sla_breaches where order_id = 'ORD-OLD' order by due_at")).Select(b => (string)b["scope"]!);
        Assert.Equal(["stock-reserved", "payment-authorized", "shipped", "end-to-end"], scopes);
    }

    [Fact]
    public async Task Under_the_expire_policy_a_breached_order_is_expired_through_kafka_exactly_once()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: Settings(ExpiryPolicy.Expire));
        using var producer = _kafka.CreateProducer();

        await producer.PublishAsync([Events.StepAt("ORD-EXP", "order-placed", DateTimeOffset.UtcNow)]);

        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from orders where order_id = 'ORD-EXP' and status = 'expired'"), n => n == 1, Timeout, "the order to be expired");
        var expiry = Assert.Single(await readModel.RowsAsync("select event_id, service, reason from order_events where order_id = 'ORD-EXP' and step = 'order-expired'"));
        Assert.Equal(OrderFlow.Domain.Sla.SlaExpiry.EventId("ORD-EXP"), expiry["event_id"]);
        Assert.Equal("order-flow-console", expiry["service"]);
        Assert.StartsWith("stock-reserved SLA breached", (string)expiry["reason"]!, StringComparison.Ordinal);
        Assert.Equal(1, await readModel.CountAsync("select count(*) from outbox where dedupe_key = 'expire:ORD-EXP' and published_at is not null"));
    }

    [Fact]
    public async Task An_expiry_queued_while_the_broker_is_down_is_delivered_when_it_comes_back()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: Settings(ExpiryPolicy.Expire));
        using (var producer = _kafka.CreateProducer())
        {
            await producer.PublishAsync([Events.StepAt("ORD-OUT", "order-placed", DateTimeOffset.UtcNow)]);
        }

        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from orders where order_id = 'ORD-OUT'"), n => n == 1, Timeout, "the order to be projected");
        _kafka.Cluster.SetBrokerDown(1);
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from outbox where dedupe_key = 'expire:ORD-OUT' and published_at is null and attempts > 0"), n => n == 1, Timeout, "a failed publish attempt while the broker is down");

        _kafka.Cluster.SetBrokerUp(1);

        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from orders where order_id = 'ORD-OUT' and status = 'expired'"), n => n == 1, Timeout, "the expiry after the broker returned");
        Assert.Equal(1, await readModel.CountAsync("select count(*) from order_events where order_id = 'ORD-OUT' and step = 'order-expired' and cardinality(flags) = 0"));
    }

    public void Dispose() => _kafka.Dispose();
}
