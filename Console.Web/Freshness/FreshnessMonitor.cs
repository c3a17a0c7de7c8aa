using Microsoft.Extensions.Options;
using Npgsql;
using OrderFlow.Platform.Kafka;

namespace OrderFlow.Web.Freshness;

/// <summary>How current the read model is, as every page's banner shows it.</summary>
public sealed record FreshnessSnapshot(
    DateTimeOffset CheckedAt,
    bool PostgresReachable,
    string? PostgresError,
    bool? KafkaReachable,
    string? KafkaDetail,
    DateTimeOffset? IngestLastSeen,
    bool? IngestReachable,
    string? IngestDetail,
    DateTimeOffset? DataAsOf,
    double? BehindSeconds,
    long? BehindMessages)
{
    public static readonly FreshnessSnapshot Unknown = new(DateTimeOffset.MinValue, true, null, null, null, null, null, null, null, null, null);
}

/// <summary>
/// Reads freshness once every two seconds for the whole process (not per page): what Console.Ingest's lag sampler stored
/// (its consumer group's lag, and its heartbeat: one evaluation a second), when Ingest last stored a batch, and whether
/// Kafka answers a metadata request (every ten seconds). Pages subscribe to <see cref="Changed"/>.
/// </summary>
public sealed class FreshnessMonitor(
    NpgsqlDataSource dataSource,
    KafkaProbe kafka,
    IOptions<KafkaOptions> kafkaOptions,
    IOptions<ConsoleWebOptions> webOptions,
    IHttpClientFactory http,
    TimeProvider clock,
    ILogger<FreshnessMonitor> logger) : BackgroundService
{
    /// <summary>No lag evaluation for this long means Console.Ingest is not running (it evaluates every second).</summary>
    public static readonly TimeSpan IngestSilence = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan KafkaInterval = TimeSpan.FromSeconds(10);

    public FreshnessSnapshot Current { get; private set; } = FreshnessSnapshot.Unknown;

    public event Action<FreshnessSnapshot>? Changed;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        bool? kafkaReachable = null;
        string? kafkaDetail = null;
        var kafkaCheckedAt = DateTimeOffset.MinValue;
        using var timer = new PeriodicTimer(Interval, clock);
        do
        {
            var now = clock.GetUtcNow();
            if (now - kafkaCheckedAt >= KafkaInterval)
            {
                (kafkaReachable, kafkaDetail) = await kafka.CheckAsync(TimeSpan.FromSeconds(3), stoppingToken);
                kafkaCheckedAt = now;
            }

            var (ingestReachable, ingestDetail) = await AskIngestAsync(stoppingToken);
            Current = await ReadAsync(now, kafkaReachable, kafkaDetail, stoppingToken) with { IngestReachable = ingestReachable, IngestDetail = ingestDetail };
            Changed?.Invoke(Current);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Whether Console.Ingest answers its /health (any answer: a 503 names what it cannot reach), or null when its address is not configured.</summary>
    private async Task<(bool?, string?)> AskIngestAsync(CancellationToken cancellationToken)
    {
        if (webOptions.Value.IngestUrl is not { Length: > 0 } url)
        {
            return (null, null);
        }

        try
        {
            using var client = http.CreateClient();
            client.Timeout = TimeSpan.FromSeconds(2);
            using var response = await client.GetAsync(new Uri(url.TrimEnd('/') + "/health"), cancellationToken);
            return (true, response.IsSuccessStatusCode ? null : await response.Content.ReadAsStringAsync(cancellationToken));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return (false, $"no answer at {url}/health");
        }
    }

    private async Task<FreshnessSnapshot> ReadAsync(DateTimeOffset now, bool? kafkaReachable, string? kafkaDetail, CancellationToken cancellationToken)
    {
        try
        {
            // Behind = the topic's end as the lag sampler last saw it (every second) minus the offsets stored with the read
            // model itself, not the group's Kafka-committed offsets (committed later, by auto-commit); in seconds: how long
            // ago the partition's end was where the read model is now.
            await using var command = dataSource.CreateCommand(
                """
                select (select max(evaluated_at) from consumer_lag_status),
                       (select max(updated_at) from consumer_offsets where consumer_group = $1),
                       max(case when l.high_watermark > o.next_offset then extract(epoch from l.sampled_at - coalesce(c.sampled_at, f.sampled_at)) else 0 end)::float8,
                       sum(greatest(l.high_watermark - o.next_offset, 0))::bigint,
                       max(l.sampled_at)
                from consumer_offsets o
                cross join lateral (
                    select s.high_watermark, s.sampled_at from consumer_lag_samples s
                    where s.consumer_group = o.consumer_group and s.topic = o.topic and s.partition = o.partition
                    order by s.sampled_at desc limit 1) l
                left join lateral (
                    select s.sampled_at from consumer_lag_samples s
                    where s.consumer_group = o.consumer_group and s.topic = o.topic and s.partition = o.partition and s.high_watermark <= o.next_offset
                    order by s.sampled_at desc limit 1) c on true
                left join lateral (
                    select s.sampled_at from consumer_lag_samples s
                    where s.consumer_group = o.consumer_group and s.topic = o.topic and s.partition = o.partition
                    order by s.sampled_at limit 1) f on true
                where o.consumer_group = $1
                """);
            command.Parameters.Add(new NpgsqlParameter { Value = kafkaOptions.Value.ConsumerGroup });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            DateTimeOffset? At(int i) => reader.IsDBNull(i) ? null : reader.GetFieldValue<DateTimeOffset>(i);
            var heartbeat = At(0);
            var lastBatch = At(1);
            var behindSeconds = reader.IsDBNull(2) ? (double?)null : reader.GetDouble(2);
            var behindMessages = reader.IsDBNull(3) ? (long?)null : reader.GetInt64(3);
            var evaluated = At(4);

            var dataAsOf = behindMessages == 0 && evaluated is { } e ? Max(e, lastBatch) : lastBatch;
            return new FreshnessSnapshot(now, true, null, kafkaReachable, kafkaDetail, heartbeat, null, null, dataAsOf, behindSeconds, behindMessages);
        }
        catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException or InvalidOperationException)
        {
            logger.LogDebug("Freshness read failed: {Message}", ex.Message);
            return Current with { CheckedAt = now, PostgresReachable = false, PostgresError = ex.Message, KafkaReachable = kafkaReachable, KafkaDetail = kafkaDetail };
        }
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset? b) => b is { } v && v > a ? v : a;
}
