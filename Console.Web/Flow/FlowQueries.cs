using Npgsql;
using OrderFlow.Domain.Flow;
using OrderFlow.Domain.Workflow;

namespace OrderFlow.Web.Flow;

/// <summary>Orders in flight waiting for one step: how many, and how many of them are at-risk or breached.</summary>
public sealed record StepLoad(string Step, long Waiting, long AtRisk, long Breached);

/// <summary>
/// How one step went in the last hour: successes applied per minute (mean over the last 5 minutes), in the hour, and the
/// percentiles of the step durations made known in the hour (from bucket counts: less than 9 % off, decision 0026).
/// </summary>
public sealed record StepPace(string Step, double EventsPerMinute, long Events, double? P50Ms, double? P95Ms);

/// <summary>What happened in one minute.</summary>
public sealed record FlowMinute(DateTimeOffset Minute, long Events, long Breaches, long Expiries, long DeadLetters, long Quarantined);

/// <summary>In-flight orders per step at one moment (the dashboard's hour chart).</summary>
public sealed record InFlightPoint(DateTimeOffset At, IReadOnlyDictionary<string, long> Waiting);

/// <summary>
/// The flow dashboard's numbers, also pushed to wallboards (FlowHub) and the JSON API. <see cref="HourPending"/>: the last
/// hour's first reading (Pace, Minutes) is still loading, so they are empty; the "now" numbers are current.
/// </summary>
public sealed record FlowSummary(
    DateTimeOffset At,
    long InFlight,
    IReadOnlyList<StepLoad> Steps,
    IReadOnlyList<StepPace> Pace,
    IReadOnlyList<FlowMinute> Minutes,
    IReadOnlyList<InFlightPoint> InFlightHistory,
    long NewDeadLetters,
    long Quarantined,
    bool HourPending = false);

/// <summary>
/// Reads the flow summary. The "now" part (orders per step, totals) is read on every change; the last hour (per-minute
/// counts, step percentiles) at most every <see cref="HourRefresh"/>, from the minutes the projection keeps (decision 0026:
/// milliseconds; it read the hour's events before, a minute of a core after a busy hour). The in-flight chart
/// is kept in memory from the readings (one point per <see cref="HistoryStep"/>), so it starts empty when Console.Web starts.
/// </summary>
public sealed class FlowQueries(
    NpgsqlDataSource dataSource, OrderFlow.Platform.Workflow.WorkflowCatalog workflow, Microsoft.Extensions.Options.IOptions<OrderFlow.Platform.Workflow.AtRiskOptions> atRisk, TimeProvider clock)
{
    public static readonly TimeSpan HourRefresh = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A slow hour reading is fresh for this many times its duration: at most a tenth of a PostgreSQL core for the hour's
    /// charts, which move by the minute, leaving the rest to Ingest and the "now" numbers. (When it read the hour's events
    /// it took a minute after an hour of 6,000 events/s; from flow_minutes it takes milliseconds, docs/benchmarks.md.)
    /// </summary>
    public const int HourSpacing = 10;

    /// <summary>
    /// How long the hour's reading may run before PostgreSQL cancels it (a reading that fails is spaced like a slow one,
    /// not started again at once).
    /// </summary>
    public TimeSpan HourTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>How long a summary waits for the hour's very first reading before it goes out without it (HourPending).</summary>
    public static readonly TimeSpan FirstHourWait = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan HistoryStep = TimeSpan.FromSeconds(15);

    private const int HistoryPoints = 240;

    private readonly Queue<InFlightPoint> _history = new(); // under _gate

    // The history as summaries carry it: a new array only when a point is added, so a page redraws its chart then, not on
    // every change (FlowView keeps what it drew while the reference stays the same).
    private volatile InFlightPoint[] _historyShown = [];
    private readonly Lock _gate = new();
    private (DateTimeOffset At, Task<(IReadOnlyList<StepPace>, IReadOnlyList<FlowMinute>)> Load)? _hour;
    private (IReadOnlyList<StepPace>, IReadOnlyList<FlowMinute>)? _lastHour;
    private TimeSpan _hourTook;
    private volatile bool _firstHourWaited;

    /// <summary>Workflow steps first, in workflow order; then anything else orders wait for.</summary>
    public IReadOnlyList<string> StepOrder => workflow.Current.Steps.Select(s => s.Name).ToList();

    public async Task<FlowSummary> SummaryAsync(CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        var hour = HourAsync(now);
        var (steps, deadLetters, quarantined) = await NowAsync(now, cancellationToken);
        Record(now, steps);
        var (pace, minutes, pending) = await FirstHourAtMostAsync(hour, cancellationToken);
        return new FlowSummary(now, steps.Sum(s => s.Waiting), steps, pace, minutes, _historyShown, deadLetters, quarantined, pending);
    }

    /// <summary>
    /// Only the first hour reading is ever awaited, once, and not for long: the "now" numbers should not wait for it (a
    /// database under load or a lock can hold it back).
    /// </summary>
    private async Task<(IReadOnlyList<StepPace>, IReadOnlyList<FlowMinute>, bool Pending)> FirstHourAtMostAsync(
        Task<(IReadOnlyList<StepPace>, IReadOnlyList<FlowMinute>)> hour, CancellationToken cancellationToken)
    {
        // Waited for once: while that first reading still runs (minutes after a busy hour), later summaries go out at once,
        // or each would take FirstHourWait and, spaced by SharedQueries, reach the screen seconds late.
        if ((_firstHourWaited && !hour.IsCompleted) || hour.IsFaulted)
        {
            // A failed reading (none before it succeeded) leaves the hour pending until the next one, spaced as HourAsync says.
            return ([], [], true);
        }

        try
        {
            var (pace, minutes) = await hour.WaitAsync(FirstHourWait, clock, cancellationToken);
            return (pace, minutes, false);
        }
        catch (TimeoutException)
        {
            _firstHourWaited = true;
            return ([], [], true);
        }
        catch (Exception) when (hour.IsFaulted)
        {
            return ([], [], true);
        }
    }

    private void Record(DateTimeOffset now, IReadOnlyList<StepLoad> steps)
    {
        lock (_gate)
        {
            var last = _historyShown.LastOrDefault();
            if (last is not null && now - last.At < HistoryStep)
            {
                return;
            }

            _history.Enqueue(new InFlightPoint(now, steps.ToDictionary(s => s.Step, s => s.Waiting, StringComparer.Ordinal)));
            while (_history.Count > HistoryPoints && _history.TryDequeue(out _))
            {
            }

            _historyShown = _history.ToArray();
        }
    }

    /// <summary>
    /// The last hour: the previous reading while a fresh one loads, so a change reaches the screen at the pace of the "now"
    /// query alone. Only the first reading is awaited
    /// (at most <see cref="FirstHourWait"/>).
    /// </summary>
    private Task<(IReadOnlyList<StepPace>, IReadOnlyList<FlowMinute>)> HourAsync(DateTimeOffset now)
    {
        lock (_gate)
        {
            if (_hour is { Load.IsCompletedSuccessfully: true } done)
            {
                _lastHour = done.Load.Result;
            }

            // Fresh for HourRefresh, or for HourSpacing times its own last duration if longer (a slow database is not kept
            // busier by it). A reading that failed is spaced the same way, by how long it ran before it failed, so a timeout
            // is not retried at once.
            var fresh = _hour is { } h && now - h.At < TimeSpan.FromTicks(Math.Max(HourRefresh.Ticks, _hourTook.Ticks * HourSpacing));
            var running = _hour is { Load.IsCompleted: false };
            if (!fresh && !running)
            {
                _hour = (now, LoadHourAsync(now));
            }

            return _lastHour is { } last && !_hour!.Value.Load.IsCompletedSuccessfully ? Task.FromResult(last) : _hour!.Value.Load;
        }
    }

    private async Task<(IReadOnlyList<StepLoad>, long, long)> NowAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var batch = dataSource.CreateBatch();
        // The counts kept as orders change (flow_step_counts, decision 0024), and the at-risk orders read against the clock
        // (decision 0011) from the candidates the watch-time index finds, as the order search does (decision 0023). One
        // statement, so one snapshot.
        var perStep = new NpgsqlBatchCommand(
            """
            with counted as (
                select step, sum(waiting) as waiting, sum(breached) as breached
                from flow_step_counts
                group by step),
            at_risk as (
                select p as step, count(*) as at_risk
                from orders o, unnest(o.positions) p
                where o.sla_watch_at <= $2 and (o.status = 'in-progress') is true and o.sla_state <> 'breached' and o.sla_at_risk_at <= $1
                group by p)
            select c.step, c.waiting::bigint, coalesce(r.at_risk, 0), c.breached::bigint
            from counted c left join at_risk r on r.step = c.step
            where c.waiting <> 0
            """);
        perStep.Parameters.Add(new NpgsqlParameter { Value = now });
        perStep.Parameters.Add(new NpgsqlParameter { Value = now + atRisk.Value.Horizon(workflow.Versions) });
        batch.BatchCommands.Add(perStep);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("select (select count(*) from dead_letters where status = 'new'), (select count(*) from quarantined_records where dismissed_at is null)"));
        await using var r = await batch.ExecuteReaderAsync(cancellationToken);
        var loads = new Dictionary<string, StepLoad>(StringComparer.Ordinal);
        while (await r.ReadAsync(cancellationToken))
        {
            loads[r.GetString(0)] = new StepLoad(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3));
        }

        await r.NextResultAsync(cancellationToken);
        await r.ReadAsync(cancellationToken);
        var deadLetters = r.GetInt64(0);
        var quarantined = r.GetInt64(1);
        var steps = StepOrder.Select(s => loads.GetValueOrDefault(s) ?? new StepLoad(s, 0, 0, 0))
            .Concat(loads.Values.Where(l => !StepOrder.Contains(l.Step)).OrderBy(l => l.Step, StringComparer.Ordinal))
            .ToList();
        return (steps, deadLetters, quarantined);
    }

    private async Task<(IReadOnlyList<StepPace>, IReadOnlyList<FlowMinute>)> LoadHourAsync(DateTimeOffset now)
    {
        try
        {
            return await ReadHourAsync(now);
        }
        finally
        {
            _hourTook = clock.GetUtcNow() - now;
        }
    }

    private async Task<(IReadOnlyList<StepPace>, IReadOnlyList<FlowMinute>)> ReadHourAsync(DateTimeOffset now)
    {
        // The minutes from the one an hour ago began in: flow_minutes, kept by the projection as it writes (decision 0026),
        // a few thousand rows however busy the hour was; breaches, dead letters and quarantined records through their
        // time indexes.
        var since = now.AddHours(-1);
        var from = new DateTimeOffset(since.UtcTicks - (since.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        await using var batch = dataSource.CreateBatch();
        batch.Timeout = (int)Math.Ceiling(HourTimeout.TotalSeconds);
        void Add(string sql)
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.Add(new NpgsqlParameter { Value = from });
            batch.BatchCommands.Add(command);
        }

        Add("select minute, step, sum(events)::bigint, sum(applied)::bigint, sum(expiries)::bigint from flow_minutes where minute >= $1 group by minute, step");
        Add("select step, durations from flow_minutes where minute >= $1 and durations is not null");
        Add("""
            select m, sum(breaches), sum(dead_letters), sum(quarantined) from (
                select date_trunc('minute', detected_at) m, count(*) breaches, 0 dead_letters, 0 quarantined from sla_breaches where detected_at >= $1 group by 1
                union all
                select date_trunc('minute', first_seen_at), 0, count(*), 0 from dead_letters where first_seen_at >= $1 group by 1
                union all
                select date_trunc('minute', received_at), 0, 0, count(*) from quarantined_records where received_at >= $1 group by 1
            ) x group by m
            """);
        await using var r = await batch.ExecuteReaderAsync();
        var applied = new Dictionary<string, List<(DateTimeOffset, long)>>(StringComparer.Ordinal);
        var perMinute = new SortedDictionary<DateTimeOffset, (long Events, long Breaches, long Expiries, long DeadLetters, long Quarantined)>();
        while (await r.ReadAsync())
        {
            var minute = r.GetFieldValue<DateTimeOffset>(0);
            var step = r.GetString(1);
            (applied.TryGetValue(step, out var list) ? list : applied[step] = []).Add((minute, r.GetInt64(3)));
            var m = perMinute.GetValueOrDefault(minute);
            perMinute[minute] = m with { Events = m.Events + r.GetInt64(2), Expiries = m.Expiries + r.GetInt64(4) };
        }

        await r.NextResultAsync();
        var durations = new Dictionary<string, long[]>(StringComparer.Ordinal);
        while (await r.ReadAsync())
        {
            var step = r.GetString(0);
            var sum = durations.TryGetValue(step, out var d) ? d : durations[step] = new long[DurationBuckets.Count];
            DurationBuckets.AddTo(sum, r.GetFieldValue<int[]>(1));
        }

        await r.NextResultAsync();
        while (await r.ReadAsync())
        {
            var minute = r.GetFieldValue<DateTimeOffset>(0);
            var m = perMinute.GetValueOrDefault(minute);
            perMinute[minute] = m with { Breaches = r.GetInt64(1), DeadLetters = r.GetInt64(2), Quarantined = r.GetInt64(3) };
        }

        var minutes = perMinute.Select(m => new FlowMinute(m.Key, m.Value.Events, m.Value.Breaches, m.Value.Expiries, m.Value.DeadLetters, m.Value.Quarantined)).ToList();
        var stepNames = StepOrder.Concat(workflow.Current.TerminalSteps.Keys).Concat(applied.Keys.Order(StringComparer.Ordinal)).Distinct(StringComparer.Ordinal);
        var pace = stepNames.Select(step =>
        {
            var counts = applied.GetValueOrDefault(step) ?? [];
            var recent = MinuteWindow.Sum(counts, now, TimeSpan.FromMinutes(5));
            var hour = MinuteWindow.Sum(counts, now, TimeSpan.FromHours(1));
            var d = durations.GetValueOrDefault(step);
            return new StepPace(step, recent / 5.0, (long)Math.Round(hour), d is null ? null : DurationBuckets.Percentile(d, 0.5), d is null ? null : DurationBuckets.Percentile(d, 0.95));
        }).ToList();
        return (pace, minutes);
    }
}
