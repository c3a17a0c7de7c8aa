using Npgsql;

namespace OrderFlow.Ingest.Flow;

/// <summary>
/// Every minute: folds the counts written by backends that have since ended into shard 0 — the per-step counts (decision
/// 0024) and the ended orders per day (decision 0028) — so flow_step_counts and ended_per_day stay as small as the
/// connections writing to them; and deletes the flow minutes older than <see cref="MinutesKept"/> (decision 0026).
/// </summary>
public sealed class FlowUpkeep(NpgsqlDataSource dataSource, TimeProvider clock, ILogger<FlowUpkeep> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    /// <summary>The dashboard reads the last hour; a day is kept for a look back with psql.</summary>
    public static readonly TimeSpan MinutesKept = TimeSpan.FromDays(1);

    /// <summary>Folds now; returns how many rows were folded.</summary>
    public async Task<int> FoldAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("select flow_step_counts_fold() + ended_per_day_fold()");
        return (int)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Deletes the flow minutes older than <see cref="MinutesKept"/>; returns how many rows went.</summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("delete from flow_minutes where minute < $1");
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = clock.GetUtcNow() - MinutesKept });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var folded = await FoldAsync(stoppingToken);
                var pruned = await PruneAsync(stoppingToken);
                logger.LogDebug("Flow upkeep: {Rows} count rows of ended connections folded, {Minutes} old minute rows deleted", folded, pruned);
            }
            catch (NpgsqlException ex) when (ex.IsTransient)
            {
                logger.LogWarning("Flow upkeep skipped, PostgreSQL unavailable: {Message}", ex.Message);
            }
        }
    }
}
