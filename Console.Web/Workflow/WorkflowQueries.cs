using Npgsql;
using OrderFlow.Domain.Workflow;

namespace OrderFlow.Web.Workflow;

/// <summary>A step name seen in events that the workflow does not name (unplanned_steps, decision 0020).</summary>
public sealed record UnplannedStep(string Step, long Events, long Orders, DateTimeOffset FirstSeenAt, DateTimeOffset LastSeenAt);

/// <summary>What the workflow page reads: the unplanned steps, most recently seen first (one row per step name).</summary>
public sealed class WorkflowQueries(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// Each step's first success of the latest $3 orders first seen in [$1, $2) (tools/benchmark.sh discovered). "offset 0"
    /// keeps the lateral subquery a lookup per order through ix_order_events_order: as a join, PostgreSQL hashed the
    /// picked orders against a scan of all of order_events (1 s at a million events, growing with the table).
    /// </summary>
    public const string DiscoveredFlowSql =
        """
        select p.order_id, e.step, e.first_success
        from (select order_id from orders where first_seen_at >= $1 and first_seen_at < $2
              order by first_seen_at desc, order_id desc limit $3) p
        cross join lateral (
            select x.step, min(x.occurred_at) as first_success from order_events x
            where x.order_id = p.order_id and x.outcome = 'succeeded'
            group by x.step offset 0) e
        order by p.order_id
        """;

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

    /// <summary>
    /// The orders first seen in [from, to), the latest <paramref name="limit"/> of them, each as the first success of every
    /// step it took (grouped by PostgreSQL through the orders' first-seen index and the events' order index); the
    /// transition and variant arithmetic is <see cref="DiscoveredFlow"/>'s.
    /// </summary>
    public async Task<DiscoveredFlowSummary> DiscoveredFlowAsync(WorkflowDefinition workflow, DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(DiscoveredFlowSql);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = from });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = to });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var traces = new List<OrderTrace>();
        string? orderId = null;
        var steps = new List<TakenStep>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = reader.GetString(0);
            if (id != orderId && orderId is not null)
            {
                traces.Add(DiscoveredFlow.Trace(workflow, orderId, steps));
                steps = [];
            }

            orderId = id;
            steps.Add(new TakenStep(reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2)));
        }

        if (orderId is not null)
        {
            traces.Add(DiscoveredFlow.Trace(workflow, orderId, steps));
        }

        return DiscoveredFlow.Summarize(workflow, traces);
    }
}
