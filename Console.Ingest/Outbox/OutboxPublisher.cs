using Confluent.Kafka;
using Microsoft.Extensions.Options;
using Npgsql;
using OrderFlow.Platform.Kafka;

namespace OrderFlow.Ingest.Outbox;

/// <summary>
/// Publishes outbox rows in id order with an idempotent producer and marks each published only after the broker
/// acknowledged it. While Kafka is down rows wait in PostgreSQL; nothing is dropped.
/// </summary>
public sealed class OutboxPublisher(NpgsqlDataSource dataSource, IOptions<KafkaOptions> kafka, TimeProvider clock, ILogger<OutboxPublisher> logger) : BackgroundService
{
    private static readonly TimeSpan Idle = TimeSpan.FromMilliseconds(200);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
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
    public async Task<int> PublishPendingAsync(IProducer<string, byte[]> producer, CancellationToken cancellationToken)
    {
        var pending = new List<(long Id, string Topic, string Key, byte[] Value)>();
        await using (var command = dataSource.CreateCommand("select id, topic, key, value from outbox where published_at is null order by id limit 500"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                pending.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<byte[]>(3)));
            }
        }

        var published = 0;
        foreach (var (id, topic, key, value) in pending)
        {
            try
            {
                await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = key, Value = value }, cancellationToken);
            }
            catch (ProduceException<string, byte[]> ex)
            {
                // Stop at the first failure so rows keep their order; the row is retried on the next pass.
                await using var failed = dataSource.CreateCommand("update outbox set attempts = attempts + 1, last_error = @error where id = @id");
                failed.Parameters.AddWithValue("error", ex.Error.Reason);
                failed.Parameters.AddWithValue("id", id);
                await failed.ExecuteNonQueryAsync(cancellationToken);
                logger.LogWarning("Outbox row {Id} not published yet: {Reason}", id, ex.Error.Reason);
                break;
            }

            await using var done = dataSource.CreateCommand("update outbox set published_at = @now, attempts = attempts + 1 where id = @id");
            done.Parameters.AddWithValue("now", clock.GetUtcNow());
            done.Parameters.AddWithValue("id", id);
            await done.ExecuteNonQueryAsync(cancellationToken);
            published++;
        }

        return published;
    }
}
