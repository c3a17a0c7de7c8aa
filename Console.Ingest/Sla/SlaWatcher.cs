using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using OrderFlow.Domain.Events;
using OrderFlow.Platform.Kafka;
using OrderFlow.Platform.ReadModel;

namespace OrderFlow.Ingest.Sla;

public sealed record SlaTick(int AtRisk, int Breached, int Expired);

/// <summary>
/// Finds orders whose next deadline has come, through the partial indexes on orders (never a scan of all orders):
/// marks them at-risk or breached, records each breach, and under the Expire policy queues an order-expired
/// event in the outbox — all in one transaction.
/// </summary>
public sealed class SlaWatcher(
    NpgsqlDataSource dataSource,
    IOptions<SlaOptions> options,
    IOptions<KafkaOptions> kafka,
    TimeProvider clock,
    ILogger<SlaWatcher> logger) : BackgroundService
{
    public const string Service = "order-flow-console";

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
                    logger.LogInformation("SLA: {Breached} orders breached, {Expired} expired, {AtRisk} at risk", tick.Breached, tick.Expired, tick.AtRisk);
                }
            }
            catch (NpgsqlException ex) when (ex.IsTransient)
            {
                logger.LogWarning("SLA check skipped, PostgreSQL unavailable: {Message}", ex.Message);
            }
        }
    }

    public async Task<SlaTick> CheckAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        int atRisk;
        await using (var command = new NpgsqlCommand(
            """
            update orders set sla_state = 'at-risk'
            where status = 'in-progress' and sla_state = 'on-track' and sla_at_risk_at <= @now and sla_due_at > @now
            """,
            connection, transaction))
        {
            command.Parameters.AddWithValue("now", now);
            atRisk = await command.ExecuteNonQueryAsync(cancellationToken);
        }

        var breached = new List<(string OrderId, string Scope, DateTimeOffset DueAt)>();
        await using (var command = new NpgsqlCommand(
            """
            with due as (
                update orders set sla_state = 'breached'
                where status = 'in-progress' and sla_state <> 'breached' and sla_due_at <= @now
                returning order_id, coalesce(sla_scope, 'end-to-end') as scope, sla_due_at
            )
            insert into sla_breaches (order_id, scope, due_at, detected_at)
            select order_id, scope, sla_due_at, @now from due
            on conflict (order_id, scope, due_at) do nothing
            returning order_id, scope, due_at
            """,
            connection, transaction))
        {
            command.Parameters.AddWithValue("now", now);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                breached.Add((reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2)));
            }
        }

        var expired = 0;
        if (options.Value.ExpiryPolicy == ExpiryPolicy.Expire)
        {
            foreach (var (orderId, scope, dueAt) in breached)
            {
                expired += await QueueExpiryAsync(connection, transaction, orderId, $"{scope} SLA breached (due {dueAt:O})", now, cancellationToken);
            }
        }

        if (atRisk + breached.Count > 0)
        {
            await using var notify = new NpgsqlCommand("select pg_notify(@channel, @payload)", connection, transaction);
            notify.Parameters.AddWithValue("channel", ReadModelDb.ChangesChannel);
            notify.Parameters.AddWithValue("payload", JsonSerializer.Serialize(new { events = 0, orders = atRisk + breached.Count, quarantined = 0 }));
            await notify.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return new SlaTick(atRisk, breached.Count, expired);
    }

    /// <summary>Queues the order-expired event once per order: the dedupe key and a name-based event id make a repeat a no-op.</summary>
    internal async Task<int> QueueExpiryAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string orderId, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var e = new OperationalEvent(ExpiryEventId(orderId), orderId, "order-expired", Service, StepOutcome.Succeeded, reason, now,
            OperationalEvent.CurrentSchemaVersion, JsonSerializer.Serialize(new { expiredBy = Service }));
        await using var command = new NpgsqlCommand(
            """
            insert into outbox (topic, key, value, headers, dedupe_key, created_at)
            values (@topic, @key, @value, '[]', @dedupe, @now)
            on conflict (dedupe_key) do nothing
            """,
            connection, transaction);
        command.Parameters.AddWithValue("topic", kafka.Value.OperationalTopic);
        command.Parameters.AddWithValue("key", orderId);
        command.Parameters.AddWithValue("value", OperationalEventCodec.Serialize(e));
        command.Parameters.AddWithValue("dedupe", "expire:" + orderId);
        command.Parameters.AddWithValue("now", now);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The same order always gets the same expiry event id, so even a re-published record folds as a duplicate.</summary>
    public static Guid ExpiryEventId(string orderId)
    {
        var hash = MD5.HashData(Encoding.UTF8.GetBytes("order-expired:" + orderId));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x30);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash, bigEndian: true);
    }
}
