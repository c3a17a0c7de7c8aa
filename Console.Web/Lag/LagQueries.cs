using Microsoft.Extensions.Options;
using Npgsql;
using OrderFlow.Domain.Lag;

namespace OrderFlow.Web.Lag;

/// <summary>Section "LagImpact": which workflow step each consumer group's service handles (its lag delays orders waiting there).</summary>
public sealed class LagImpactOptions
{
    public const string Section = "LagImpact";

    /// <summary>Group → step. Defaults to the simulator's services; set <c>LagImpact__GroupSteps__my-group=step</c> to add one.</summary>
    public Dictionary<string, string> GroupSteps { get; set; } = new(StringComparer.Ordinal)
    {
        ["payment-service"] = "payment-authorized",
        ["stock-service"] = "stock-reserved",
        ["shipping-service"] = "shipped",
        ["order-service"] = "order-completed",
    };
}

public sealed record PartitionLagRow(string Topic, int Partition, string Status, long Lag, double? LagSeconds, string Reason, DateTimeOffset EvaluatedAt);

public sealed record LagPoint(DateTimeOffset At, long Lag);

/// <summary>One consumer group: its partitions, worst status, trend, drain rate and what its lag means for orders.</summary>
public sealed record GroupLag(
    string Group,
    string Status,
    long Lag,
    double? LagSeconds,
    IReadOnlyList<PartitionLagRow> Partitions,
    IReadOnlyList<LagPoint> Trend,
    double DrainPerSecond,
    string? Step,
    LagImpact? Impact);

/// <summary>
/// Reads the lag sampler's tables: the latest evaluation per partition (consumer_lag_status), each group's summed lag over
/// the last 15 minutes (the trend) and its committed-offset progress over the last minute (the drain rate), and the
/// in-flight orders waiting at the step each group's service handles, whose deadlines go into <see cref="LagImpactEstimate"/>.
/// </summary>
public sealed class LagQueries(NpgsqlDataSource dataSource, TimeProvider clock, IOptions<LagImpactOptions> options)
{
    public static readonly TimeSpan TrendWindow = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan DrainWindow = TimeSpan.FromMinutes(1);

    private static readonly string[] Severity = ["OK", "WARN", "STALL", "REWIND", "STOP"];

    public async Task<IReadOnlyList<GroupLag>> ListAsync(CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        // One snapshot for every statement: an order the SLA watcher marks breached between the kept counts and the due-soon
        // read would otherwise be in neither (read committed gives each statement its own).
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            "select consumer_group, topic, partition, status, lag, lag_seconds, reason, evaluated_at from consumer_lag_status order by consumer_group, topic, partition"));
        var trend = new NpgsqlBatchCommand(
            """
            select consumer_group, date_bin('10 seconds', sampled_at, timestamptz '2000-01-01') t, max(lag) from (
                select consumer_group, sampled_at, sum(lag) lag from consumer_lag_samples where sampled_at > $1 group by 1, 2) s
            group by 1, 2 order by 1, 2
            """);
        trend.Parameters.Add(new NpgsqlParameter { Value = now - TrendWindow });
        batch.BatchCommands.Add(trend);
        var drain = new NpgsqlBatchCommand(
            "select consumer_group, topic, partition, sampled_at, committed_offset, high_watermark from consumer_lag_samples where sampled_at > $1 order by 1, 2, 3, 4");
        drain.Parameters.Add(new NpgsqlParameter { Value = now - DrainWindow });
        batch.BatchCommands.Add(drain);
        // How many wait at each group's step, and how many of them are breached: the counts kept as orders change (decision
        // 0024). Whose deadline falls by the horizon's end, among the others: through the watch-time index, a lower bound
        // of the deadline (decision 0013) — not every waiting order's row (1.5 s at 3,000,000 orders under load,
        // docs/benchmarks.md). A breached order is no longer watched for the step's deadline, so only the kept count has it.
        var steps = options.Value.GroupSteps.Values.Distinct().ToArray();
        var waiting = new NpgsqlBatchCommand("select step, sum(waiting)::bigint, sum(breached)::bigint from flow_step_counts where step = any($1) group by step");
        waiting.Parameters.Add(new NpgsqlParameter { Value = steps });
        batch.BatchCommands.Add(waiting);
        var dueSoon = new NpgsqlBatchCommand(
            """
            select p, o.sla_due_at from orders o, unnest(o.positions) p
            where o.sla_watch_at <= $2 and (o.status = 'in-progress') is true and o.sla_state <> 'breached' and p = any($1) and o.sla_due_at <= $2
            """);
        dueSoon.Parameters.Add(new NpgsqlParameter { Value = steps });
        dueSoon.Parameters.Add(new NpgsqlParameter { Value = now + LagImpactEstimate.DefaultHorizon });
        batch.BatchCommands.Add(dueSoon);

        await using var r = await batch.ExecuteReaderAsync(cancellationToken);
        var partitions = new List<(string Group, PartitionLagRow Row)>();
        while (await r.ReadAsync(cancellationToken))
        {
            partitions.Add((r.GetString(0), new PartitionLagRow(r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetInt64(4),
                r.IsDBNull(5) ? null : r.GetDouble(5), r.GetString(6), r.GetFieldValue<DateTimeOffset>(7))));
        }

        await r.NextResultAsync(cancellationToken);
        var trends = new Dictionary<string, List<LagPoint>>(StringComparer.Ordinal);
        while (await r.ReadAsync(cancellationToken))
        {
            trends.TryAdd(r.GetString(0), []);
            trends[r.GetString(0)].Add(new LagPoint(r.GetFieldValue<DateTimeOffset>(1), r.GetInt64(2)));
        }

        await r.NextResultAsync(cancellationToken);
        var windows = new Dictionary<(string Group, string Topic, int Partition), List<LagSample>>();
        while (await r.ReadAsync(cancellationToken))
        {
            var key = (r.GetString(0), r.GetString(1), r.GetInt32(2));
            windows.TryAdd(key, []);
            windows[key].Add(new LagSample(r.GetFieldValue<DateTimeOffset>(3), r.GetInt64(4), r.GetInt64(5)));
        }

        await r.NextResultAsync(cancellationToken);
        var waitingAt = new Dictionary<string, (long Waiting, long Breached)>(StringComparer.Ordinal);
        while (await r.ReadAsync(cancellationToken))
        {
            waitingAt[r.GetString(0)] = (r.GetInt64(1), r.GetInt64(2));
        }

        await r.NextResultAsync(cancellationToken);
        var dues = new Dictionary<string, List<DateTimeOffset>>(StringComparer.Ordinal);
        while (await r.ReadAsync(cancellationToken))
        {
            dues.TryAdd(r.GetString(0), []);
            dues[r.GetString(0)].Add(r.GetFieldValue<DateTimeOffset>(1));
        }

        return partitions.GroupBy(p => p.Group, StringComparer.Ordinal).Select(g =>
        {
            var rows = g.Select(p => p.Row).ToList();
            var rate = LagImpactEstimate.DrainRate(windows.Where(w => w.Key.Group == g.Key).Select(w => (IReadOnlyList<LagSample>)w.Value));
            var step = options.Value.GroupSteps.GetValueOrDefault(g.Key);
            var lag = rows.Sum(x => x.Lag);
            var (waiting, breached) = step is null ? default : waitingAt.GetValueOrDefault(step);
            var impact = step is null ? null : LagImpactEstimate.Estimate(
                lag, rate, (int)Math.Min(int.MaxValue, waiting), (int)Math.Clamp(breached, 0, int.MaxValue), dues.GetValueOrDefault(step) ?? [], now, LagImpactEstimate.DefaultHorizon);
            return new GroupLag(g.Key, rows.MaxBy(x => Array.IndexOf(Severity, x.Status))!.Status, lag, rows.Max(x => x.LagSeconds), rows,
                trends.GetValueOrDefault(g.Key) ?? [], rate, step, impact);
        }).ToList();
    }
}
