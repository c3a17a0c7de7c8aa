using Npgsql;
using NpgsqlTypes;
using OrderFlow.Domain.Events;
using OrderFlow.Domain.Flow;
using OrderFlow.Domain.Orders;

namespace OrderFlow.Ingest.Flow;

/// <summary>
/// What a batch adds to flow_minutes (decision 0026): per step, the events stored, the successes applied, the expiries
/// and the durations of the step timings its events made known. Written in the batch's transaction as one upsert into the
/// minute the batch is written in, on this connection's own rows (shard = its backend pid).
/// </summary>
public sealed class FlowMinuteCounts
{
    private const string ExpiredStep = "order-expired";

    private readonly SortedDictionary<string, Step> _steps = new(StringComparer.Ordinal);

    public bool IsEmpty => _steps.Count == 0;

    /// <summary>An event stored, as the fold flagged it, with the timings it made known (<see cref="OrderState.TimingsKnownBy"/>).</summary>
    public void Add(OperationalEvent e, EventFlags flags, IReadOnlyList<StepTiming> known)
    {
        var step = Of(e.Step);
        step.Events++;
        if (e.Outcome == StepOutcome.Succeeded && (flags & EventFlags.Duplicate) == 0)
        {
            step.Applied += (flags & EventFlags.AfterTerminal) == 0 ? 1 : 0;
            step.Expiries += e.Step == ExpiredStep ? 1 : 0;
        }

        foreach (var timing in known)
        {
            var timed = Of(timing.Step);
            timed.Durations ??= new int[DurationBuckets.Count];
            timed.Durations[DurationBuckets.Of(timing.Duration!.Value.TotalMilliseconds)]++;
        }
    }

    /// <summary>One upsert, steps in name order. The durations travel as one flat array, a slot of 256 buckets per timed step.</summary>
    public NpgsqlBatchCommand Command(DateTimeOffset now)
    {
        var timed = _steps.Values.Where(s => s.Durations is not null).ToList();
        var durations = new int[timed.Count * DurationBuckets.Count];
        for (var i = 0; i < timed.Count; i++)
        {
            timed[i].Durations!.CopyTo(durations, i * DurationBuckets.Count);
        }

        var command = new NpgsqlBatchCommand($"""
            insert into flow_minutes as f (minute, step, shard, events, applied, expiries, durations)
            select $1, s.step, pg_backend_pid(), s.events, s.applied, s.expiries,
                   case when s.slot > 0 then $7[(s.slot - 1) * {DurationBuckets.Count} + 1 : s.slot * {DurationBuckets.Count}] end
            from unnest($2::text[], $3::integer[], $4::integer[], $5::integer[], $6::integer[]) as s(step, events, applied, expiries, slot)
            order by s.step
            on conflict (minute, step, shard) do update set
                events = f.events + excluded.events, applied = f.applied + excluded.applied, expiries = f.expiries + excluded.expiries,
                durations = flow_durations_add(f.durations, excluded.durations)
            """);
        var minute = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = minute, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. _steps.Keys] });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. _steps.Values.Select(s => s.Events)] });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. _steps.Values.Select(s => s.Applied)] });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. _steps.Values.Select(s => s.Expiries)] });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. _steps.Values.Select(s => s.Durations is null ? 0 : timed.IndexOf(s) + 1)] });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = durations });
        return command;
    }

    private Step Of(string step) => _steps.TryGetValue(step, out var s) ? s : _steps[step] = new Step();

    private sealed class Step
    {
        public int Events { get; set; }

        public int Applied { get; set; }

        public int Expiries { get; set; }

        public int[]? Durations { get; set; }
    }
}
