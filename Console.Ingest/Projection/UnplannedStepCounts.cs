using Npgsql;
using NpgsqlTypes;

namespace OrderFlow.Ingest.Projection;

/// <summary>
/// What a batch adds to unplanned_steps: per step name the events flagged unplanned-step and the orders that took it for
/// the first time (decision 0020). Written in the batch's transaction, so a batch written again counts once.
/// </summary>
internal sealed class UnplannedStepCounts
{
    private readonly SortedDictionary<string, (int Events, int Orders)> _counts = new(StringComparer.Ordinal);

    public bool IsEmpty => _counts.Count == 0;

    public void Add(string step, bool newForOrder)
    {
        var (events, orders) = _counts.GetValueOrDefault(step);
        _counts[step] = (events + 1, orders + (newForOrder ? 1 : 0));
    }

    /// <summary>One upsert, steps in name order (two writers meeting on the same steps lock them in the same order).</summary>
    public NpgsqlBatchCommand Command(DateTimeOffset now)
    {
        var command = new NpgsqlBatchCommand("""
            insert into unplanned_steps (step, events, orders, first_seen_at, last_seen_at)
            select s.step, s.events, s.orders, $4, $4 from unnest($1::text[], $2::bigint[], $3::bigint[]) as s(step, events, orders)
            on conflict (step) do update set events = unplanned_steps.events + excluded.events,
                orders = unplanned_steps.orders + excluded.orders, last_seen_at = excluded.last_seen_at
            """);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. _counts.Keys] });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. _counts.Values.Select(c => (long)c.Events)] });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. _counts.Values.Select(c => (long)c.Orders)] });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        return command;
    }
}
