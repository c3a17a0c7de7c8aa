using Npgsql;

namespace OrderFlow.Web.Workflow;

/// <summary>A step name seen in events that the workflow does not name (unplanned_steps, decision 0020).</summary>
public sealed record UnplannedStep(string Step, long Events, long Orders, DateTimeOffset FirstSeenAt, DateTimeOffset LastSeenAt);

/// <summary>What the workflow page reads: the unplanned steps, most recently seen first (one row per step name).</summary>
public sealed class WorkflowQueries(NpgsqlDataSource dataSource)
{
    public async Task<IReadOnlyList<UnplannedStep>> UnplannedStepsAsync(CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            "select step, events, orders, first_seen_at, last_seen_at from unplanned_steps order by last_seen_at desc, step limit 500");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var steps = new List<UnplannedStep>();
        while (await reader.ReadAsync(cancellationToken))
        {
            steps.Add(new UnplannedStep(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2),
                reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<DateTimeOffset>(4)));
        }

        return steps;
    }
}
