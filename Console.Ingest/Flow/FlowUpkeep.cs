using Npgsql;

namespace OrderFlow.Ingest.Flow;

/// <summary>
/// Every minute: folds the counts written by backends that have since ended into shard 0 — the per-step counts (decision
/// 0024) and the ended orders per day (decision 0028) — so flow_step_counts and ended_per_day stay as small as the
/// connections writing to them; corrects the breached step of ended orders whose breach was recorded in the last
/// <see cref="BreachesRechecked"/> (decision 0028: a breach committed while the order's ending was written is not seen by
/// the ending's trigger); and deletes the flow minutes older than <see cref="MinutesKept"/> (decision 0026).
/// </summary>
public sealed class FlowUpkeep(NpgsqlDataSource dataSource, TimeProvider clock, ILogger<FlowUpkeep> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    /// <summary>The dashboard reads the last hour; a day is kept for a look back with psql.</summary>
    public static readonly TimeSpan MinutesKept = TimeSpan.FromDays(1);

    /// <summary>Breaches recorded this long ago are looked at again on every pass (a pass every minute: ten chances).</summary>
    public static readonly TimeSpan BreachesRechecked = TimeSpan.FromMinutes(10);

    /// <summary>Folds now; returns how many rows were folded.</summary>
    public async Task<int> FoldAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("select flow_step_counts_fold() + ended_per_day_fold()");
        return (int)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Corrects the breached step of the ended orders with a breach recorded since <see cref="BreachesRechecked"/> ago; returns how many changed.</summary>
    public async Task<int> RecheckBreachesAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("select order_endings_recheck($1)");
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = clock.GetUtcNow() - BreachesRechecked });
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
                var rechecked = await RecheckBreachesAsync(stoppingToken);
                var folded = await FoldAsync(stoppingToken);
                var pruned = await PruneAsync(stoppingToken);
                logger.LogDebug("Flow upkeep: {Endings} ended orders' breached step corrected, {Rows} count rows of ended connections folded, {Minutes} old minute rows deleted",
                    rechecked, folded, pruned);
            }
            catch (NpgsqlException ex) when (ex.IsTransient)
            {
                logger.LogWarning("Flow upkeep skipped, PostgreSQL unavailable: {Message}", ex.Message);
            }
        }
    }
}
