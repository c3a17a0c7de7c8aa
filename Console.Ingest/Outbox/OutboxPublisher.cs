using Confluent.Kafka;
using Microsoft.Extensions.Options;
using Npgsql;
using OrderFlow.Platform.Kafka;
using OrderFlow.Platform.ReadModel;

namespace OrderFlow.Ingest.Outbox;

/// <summary>
/// Publishes outbox rows in id order with an idempotent producer and marks each published only after the broker
/// acknowledged it. While Kafka is down rows wait in PostgreSQL; nothing is dropped. Published rows are kept
/// for Outbox:KeepPublished (their dedupe keys keep a repeat from being queued again), then pruned.
/// </summary>
public sealed class OutboxPublisher(
    NpgsqlDataSource dataSource,
    IOptions<KafkaOptions> kafka,
    IOptions<OutboxOptions> options,
    TimeProvider clock,
    ILogger<OutboxPublisher> logger) : BackgroundService
{
    private static readonly TimeSpan Idle = TimeSpan.FromMilliseconds(200);
    private DateTimeOffset _lastPrune = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
        {
            BootstrapServers = kafka.Value.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            MessageTimeoutMs = 10_000,
            ClientId = "console-ingest-outbox",
        }).SetLogHandler((_, m) => logger.LogDebug("Kafka producer: {Message}", m.Message)).Build();

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var published = await PublishPendingAsync(producer, stoppingToken);
                if (clock.GetUtcNow() - _lastPrune >= options.Value.PruneInterval)
                {
                    var pruned = await PruneAsync(stoppingToken);
                    if (pruned > 0)
                    {
                        logger.LogInformation("Outbox: pruned {Rows} rows published before {Cutoff}", pruned, clock.GetUtcNow() - options.Value.KeepPublished);
                    }
                }

                if (published == 0)
                {
                    await Task.Delay(Idle, clock, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (NpgsqlException ex) when (ex.IsTransient)
            {
                logger.LogWarning("Outbox paused, PostgreSQL unavailable: {Message}", ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), clock, stoppingToken);
            }
        }

        producer.Flush(TimeSpan.FromSeconds(5));
    }

    /// <summary>Publishes up to one page of pending rows; returns how many were acknowledged.</summary>
    public async Task<int> PublishPendingAsync(IProducer<byte[]?, byte[]> producer, CancellationToken cancellationToken)
    {
        var pending = new List<(long Id, string Topic, byte[]? Key, byte[] Value, Headers Headers)>();
        await using (var command = dataSource.CreateCommand(
            "select id, topic, case when key_is_raw then raw_key else convert_to(key, 'UTF8') end, value, headers::text from outbox where published_at is null order by id limit 500"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                pending.Add((reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetFieldValue<byte[]>(2), reader.GetFieldValue<byte[]>(3), StoredHeaders.Parse(reader.GetString(4)).ToKafka()));
            }
        }

        var published = 0;
        var deliveries = 0;
        foreach (var (id, topic, key, value, headers) in pending)
        {
            DeliveryResult<byte[]?, byte[]> delivered;
            try
            {
                delivered = await producer.ProduceAsync(topic, new Message<byte[]?, byte[]> { Key = key, Value = value, Headers = headers }, cancellationToken);
            }
            catch (ProduceException<byte[]?, byte[]> ex)
            {
                // Stop at the first failure so rows keep their order; the row is retried on the next pass.
                await using var failed = dataSource.CreateCommand("update outbox set attempts = attempts + 1, last_error = @error where id = @id");
                failed.Parameters.AddWithValue("error", ex.Error.Reason);
                failed.Parameters.AddWithValue("id", id);
                await failed.ExecuteNonQueryAsync(cancellationToken);
                logger.LogWarning("Outbox row {Id} not published yet: {Reason}", id, ex.Error.Reason);
                break;
            }

            // Where an operator action's message landed goes to its audit trail (action_deliveries), with the row marked published.
            await using var done = dataSource.CreateCommand(
                """
                with done as (update outbox set published_at = @now, attempts = attempts + 1 where id = @id and published_at is null returning action_id, topic)
                insert into action_deliveries (action_id, topic, partition, "offset", published_at)
                select action_id, topic, @partition, @offset, @now from done where action_id is not null
                """);
            done.Parameters.AddWithValue("now", clock.GetUtcNow());
            done.Parameters.AddWithValue("id", id);
            done.Parameters.AddWithValue("partition", delivered.Partition.Value);
            done.Parameters.AddWithValue("offset", delivered.Offset.Value);
            deliveries += await done.ExecuteNonQueryAsync(cancellationToken);
            published++;
        }

        if (deliveries > 0)
        {
            // Pages showing an action as pending hear that it was delivered.
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var notify = new NpgsqlBatch(connection) { BatchCommands = { new ChangeNotification { Actions = deliveries }.Command() } };
            await notify.ExecuteNonQueryAsync(cancellationToken);
        }

        return published;
    }

    /// <summary>Deletes rows published longer ago than Outbox:KeepPublished; pending rows are never touched.</summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var command = dataSource.CreateCommand("delete from outbox where published_at is not null and published_at < @cutoff");
        command.Parameters.AddWithValue("cutoff", now - options.Value.KeepPublished);
        var pruned = await command.ExecuteNonQueryAsync(cancellationToken);
        _lastPrune = now;
        return pruned;
    }
}
