using Npgsql;

namespace OrderFlow.Web.Live;

/// <summary>The counts in the navigation, each capped so reading it stays cheap however large the tables grow.</summary>
public sealed record NavigationCountsView(long Stuck, long DeadLetters, long Quarantined)
{
    /// <summary>Counts stop here and show as "1000+": beyond it the exact figure does not change what a person does.</summary>
    public const long Cap = 1000;

    public static string Show(long count) => count > Cap ? $"{Cap}+" : count.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

public sealed class NavigationCounts(NpgsqlDataSource dataSource, SharedQueries shared, TimeProvider clock)
{
    public Task<NavigationCountsView> GetAsync() =>
        shared.GetAsync("nav-counts", ReadAsync, TimeSpan.FromSeconds(5));

    private async Task<NavigationCountsView> ReadAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            select (select count(*) from (select 1 from orders where status = 'in-progress' and (sla_state = 'breached' or sla_at_risk_at <= $1) limit $2) s),
                   (select count(*) from (select 1 from dead_letters where status = 'new' limit $2) d),
                   (select count(*) from (select 1 from quarantined_records where dismissed_at is null limit $2) q)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
        command.Parameters.Add(new NpgsqlParameter { Value = NavigationCountsView.Cap + 1 });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new NavigationCountsView(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }
}
