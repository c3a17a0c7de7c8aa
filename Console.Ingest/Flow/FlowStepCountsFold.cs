using Npgsql;

namespace OrderFlow.Ingest.Flow;

/// <summary>
/// Folds the per-step counts written by backends that have since ended into one row per step (decision 0024), so
/// flow_step_counts stays as small as the connections writing to it, however often connections come and go.
/// </summary>
public sealed class FlowStepCountsFold(NpgsqlDataSource dataSource, TimeProvider clock, ILogger<FlowStepCountsFold> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    /// <summary>Folds now; returns how many rows were folded.</summary>
    public async Task<int> FoldAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("select flow_step_counts_fold()");
        return (int)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var folded = await FoldAsync(stoppingToken);
                logger.LogDebug("Flow step counts: {Rows} rows of ended connections folded", folded);
            }
            catch (NpgsqlException ex) when (ex.IsTransient)
            {
                logger.LogWarning("Flow step counts not folded, PostgreSQL unavailable: {Message}", ex.Message);
            }
        }
    }
}
