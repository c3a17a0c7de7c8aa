using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Sla;
using OrderFlow.Domain.Workflow;
using OrderFlow.Ingest.Orders;
using OrderFlow.Platform.Kafka;
using OrderFlow.Platform.Outbox;
using OrderFlow.Platform.ReadModel;
using OrderFlow.Platform.Workflow;

namespace OrderFlow.Ingest.Sla;

/// <summary>
/// What one check did: breaches recorded (several clocks of one order count apart), orders expired; HeldBack when nothing
/// was judged because the projection is behind (or its backlog not measured yet). At-risk is not a transition the watcher
/// writes: readers compare sla_at_risk_at with the time they read (decision 0011).
/// </summary>
public sealed record SlaTick(int Breached, int Expired, bool HeldBack = false);

/// <summary>
/// Finds orders whose watch time has come, through the partial index on orders (never a scan of all orders): those past
/// their deadline it marks breached, records each breached clock once, moves the order's deadline and watch time on to its
/// next clock still running, and under the Expire policy queues an order-expired event in the outbox; those an event has
/// moved on to a later deadline meanwhile it watches again at that deadline (decision 0013).
/// </summary>
public sealed class SlaWatcher(
    NpgsqlDataSource dataSource,
    WorkflowCatalog workflow,
    ProjectionBacklog backlog,
    IOptions<SlaOptions> options,
    IOptions<KafkaOptions> kafka,
    TimeProvider clock,
    ILogger<SlaWatcher> logger) : BackgroundService
{
    /// <summary>Due orders handled per transaction, so a backlog of breaches (Ingest was down) never holds one huge lock.</summary>
    internal const int DueChunk = 5000;

    // The watch time is a lower bound of the deadline (decision 0013): a row can come up here before its deadline, when an
    // event moved it on to a later one; it is then only watched again at that deadline.
    internal const string DueSql =
        $"""
        select order_id, sla_scope, sla_due_at, status = '{OrderStatusNames.InProgress}' from orders
        where sla_watch_at <= @now
        order by sla_watch_at
        limit @limit
        for update skip locked
        """;

    internal const string RecordBreachesSql =
        """
        insert into sla_breaches (order_id, scope, due_at, detected_at)
        select b.order_id, b.scope, b.due_at, @now from unnest(@orders, @scopes, @dues) as b(order_id, scope, due_at)
        on conflict (order_id, scope, due_at) do nothing
        returning order_id, scope, due_at
        """;

    internal const string AdvanceSql =
        $"""
        update orders o set sla_state = case when n.breached then '{SlaStateNames.Breached}' else o.sla_state end,
            sla_scope = n.scope, sla_due_at = n.due_at, sla_watch_at = n.watch_at
        from unnest(@orders, @breached, @scopes, @dues, @watches) as n(order_id, breached, scope, due_at, watch_at)
        where o.order_id = n.order_id
        """;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.ExpiryPolicy == ExpiryPolicy.Off)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.Value.CheckInterval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var tick = await CheckAsync(stoppingToken);
                if (tick.Breached > 0)
                {
                    logger.LogInformation("SLA: {Breached} breaches recorded, {Expired} orders expired", tick.Breached, tick.Expired);
                }
            }
            catch (NpgsqlException ex) when (ex.IsTransient)
            {
                logger.LogWarning("SLA check skipped, PostgreSQL unavailable: {Message}", ex.Message);
            }
        }
    }

    private bool _heldBack;

    public async Task<SlaTick> CheckAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (HoldBack())
        {
            return new SlaTick(0, 0, HeldBack: true);
        }

        var breached = 0;
        var expired = 0;
        while (true)
        {
            var (orders, recorded, expiredNow) = await BreachDueAsync(now, cancellationToken);
            breached += recorded;
            expired += expiredNow;
            if (orders < DueChunk)
            {
                return new SlaTick(breached, expired);
            }
        }
    }

    /// <summary>True while the projection's backlog is over Sla:HoldBackWhenBehind or not measured yet; logs each change.</summary>
    private bool HoldBack()
    {
        var reading = backlog.Latest;
        var limit = options.Value.HoldBackWhenBehind;
        var hold = reading is null || reading.Behind > limit;
        if (hold != _heldBack)
        {
            if (hold)
            {
                logger.LogWarning(
                    "SLA watcher holding back: the projection is {Behind} records behind {Topic} (limit {Limit}); deadlines are judged again once it has caught up",
                    reading?.Behind.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) ?? "an unmeasured number of", kafka.Value.OperationalTopic, limit);
            }
            else
            {
                logger.LogInformation("SLA watcher resumed: the projection is {Behind} records behind {Topic}", reading!.Behind, kafka.Value.OperationalTopic);
            }

            _heldBack = hold;
        }

        return hold;
    }

    /// <summary>One chunk of due orders in one transaction: every clock breached by now recorded, the next clock watched.</summary>
    private async Task<(int Orders, int Recorded, int Expired)> BreachDueAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        var watched = new List<(string OrderId, string Scope, DateTimeOffset DueAt)>();
        var next = new List<(string OrderId, bool Breached, string? Scope, DateTimeOffset? DueAt, DateTimeOffset? WatchAt)>();
        await using (var command = new NpgsqlCommand(DueSql, connection, transaction))
        {
            command.Parameters.AddWithValue("now", now);
            command.Parameters.AddWithValue("limit", DueChunk);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var (orderId, scope, due, inProgress) = (reader.GetString(0), reader.GetFieldValue<string?>(1), reader.GetFieldValue<DateTimeOffset?>(2), reader.GetBoolean(3));
                if (inProgress && due <= now)
                {
                    watched.Add((orderId, scope ?? SlaClock.EndToEnd, due.Value));
                }
                else
                {
                    // Not due yet (watched again at its deadline), or no clock running any more (watched no longer).
                    next.Add((orderId, false, scope, due, inProgress ? due : null));
                }
            }
        }

        if (watched.Count == 0 && next.Count == 0)
        {
            return (0, 0, 0);
        }

        // Their clocks, from their events folded again (the rows are locked: the projection cannot add events meanwhile).
        var stored = new Dictionary<string, StoredOrder>();
        if (watched.Count > 0)
        {
            stored = await StoredOrders.ReadAsync(connection, transaction, watched.Select(w => w.OrderId), workflow.Versions, cancellationToken);
        }

        var breaches = new List<(string OrderId, string Scope, DateTimeOffset DueAt)>();
        foreach (var (orderId, watchedScope, watchedDue) in watched)
        {
            // An order row without events is not something the projection writes; its watched deadline still counts.
            var due = stored.TryGetValue(orderId, out var order) ? SlaEvaluation.DueBy(order.State, order.Workflow.Definition, now) : new SlaDue([], null);
            breaches.AddRange(due.Breached.Select(c => (orderId, c.Scope, c.DueAt)));
            if (!due.Breached.Any(c => c.Scope == watchedScope))
            {
                // The watched deadline counts even when the clocks no longer show it (the workflow's SLAs changed since it was written).
                breaches.Add((orderId, watchedScope, watchedDue));
            }

            next.Add((orderId, true, due.Next?.Scope, due.Next?.DueAt, due.Next?.DueAt));
        }

        var recorded = new List<(string OrderId, string Scope, DateTimeOffset DueAt)>();
        if (breaches.Count > 0)
        {
            await using var command = new NpgsqlCommand(RecordBreachesSql, connection, transaction);
            command.Parameters.AddWithValue("now", now);
            command.Parameters.AddWithValue("orders", breaches.Select(b => b.OrderId).ToArray());
            command.Parameters.AddWithValue("scopes", breaches.Select(b => b.Scope).ToArray());
            command.Parameters.AddWithValue("dues", breaches.Select(b => b.DueAt).ToArray());
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                recorded.Add((reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2)));
            }
        }

        await using (var command = new NpgsqlCommand(AdvanceSql, connection, transaction))
        {
            command.Parameters.AddWithValue("orders", next.Select(n => n.OrderId).ToArray());
            command.Parameters.AddWithValue("breached", next.Select(n => n.Breached).ToArray());
            command.Parameters.Add(new NpgsqlParameter("scopes", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = next.Select(n => n.Scope).ToArray() });
            command.Parameters.Add(new NpgsqlParameter("dues", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = next.Select(n => n.DueAt).ToArray() });
            command.Parameters.Add(new NpgsqlParameter("watches", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = next.Select(n => n.WatchAt).ToArray() });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        var expired = 0;
        if (options.Value.ExpiryPolicy == ExpiryPolicy.Expire)
        {
            // The first clock that breached names the reason; the outbox dedupe key keeps it to one expiry per order.
            foreach (var first in recorded.GroupBy(r => r.OrderId).Select(g => g.MinBy(r => r.DueAt)))
            {
                var expiry = OutboxMessage.For(SlaExpiry.Event(first.OrderId, SlaExpiry.Reason(first.Scope, first.DueAt), now), kafka.Value.OperationalTopic, SlaExpiry.DedupeKey(first.OrderId));
                expired += await OutboxQueue.EnqueueAsync(connection, transaction, expiry, now, cancellationToken) ? 1 : 0;
            }
        }

        if (watched.Count > 0)
        {
            var ids = watched.Select(w => w.OrderId).ToList();
            await new ChangeNotification { Orders = ids.Count, OrderIds = ids, Sla = ids.Count }.SendAsync(connection, transaction, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return (next.Count, recorded.Count, expired);
    }
}
