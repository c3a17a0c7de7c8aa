using OrderFlow.Domain.Events;
using OrderFlow.Domain.Workflow;

namespace OrderFlow.Domain.Orders;

/// <summary>What an event turned out to be when folded into its order.</summary>
[Flags]
public enum EventFlags
{
    None = 0,

    /// <summary>Same EventId seen before for this order: stored, not applied again.</summary>
    Duplicate = 1,

    /// <summary>Event time earlier than an event already applied (out of order).</summary>
    Late = 2,

    /// <summary>Happened (event time) after the order reached a terminal outcome: stored for a person, not applied.</summary>
    AfterTerminal = 4,

    /// <summary>Step name is not in the workflow: stored and shown, never moves the order (no status, SLA or position change).</summary>
    UnplannedStep = 8,

    /// <summary>The step had already succeeded.</summary>
    Repeated = 16,

    /// <summary>The step ran before the steps it depends on succeeded.</summary>
    SkippedDependencies = 32,

    /// <summary>A compensation (payment-refunded) of a step that had not succeeded (payment-authorized): nothing to undo.</summary>
    NothingToCompensate = 64,
}

/// <summary>How a step of an order went so far. Changed only by the fold of its order (<see cref="OrderState.Apply"/>).</summary>
public sealed class StepProgress
{
    public int Succeeded { get; private set; }

    public int Failed { get; private set; }

    public DateTimeOffset? SucceededAt { get; private set; }

    public DateTimeOffset? LastFailedAt { get; private set; }

    public string? LastFailureReason { get; private set; }

    internal void Succeed(DateTimeOffset at)
    {
        Succeeded++;
        SucceededAt = SucceededAt is { } earlier && earlier <= at ? earlier : at;
    }

    internal void Fail(DateTimeOffset at, string? reason)
    {
        Failed++;
        if (LastFailedAt is null || at >= LastFailedAt)
        {
            LastFailedAt = at;
            LastFailureReason = reason;
        }
    }
}

/// <summary>
/// An order as the fold of its operational events: created for an order id, then changed only by <see cref="Apply"/>.
/// What it exposes is read-only, so an order the projection keeps in memory for long cannot be changed beside the fold.
/// </summary>
public sealed class OrderState
{
    // Sized for a whole order up front: the projection keeps orders in memory for long, and growing them later costs
    // the garbage collector more than the few bytes reserved now (docs/benchmarks.md).
    private readonly Dictionary<string, StepProgress> _steps = new(8, StringComparer.Ordinal);
    private readonly List<string> _unexpectedSteps = [];
    private readonly Dictionary<string, DateTimeOffset> _compensated = [];
    private readonly HashSet<Guid> _seenEventIds = new(8);
    private int _failures;

    public required string OrderId { get; init; }

    public OrderStatus Status { get; private set; } = OrderStatus.InProgress;

    public DateTimeOffset? PlacedAt { get; private set; }

    public DateTimeOffset FirstEventAt { get; private set; }

    public DateTimeOffset LastEventAt { get; private set; }

    public string? LastStep { get; private set; }

    public string? TerminalStep { get; private set; }

    public DateTimeOffset? TerminalAt { get; private set; }

    public int EventCount { get; private set; }

    public IReadOnlyDictionary<string, StepProgress> Steps => _steps;

    public IReadOnlyList<string> UnexpectedSteps => _unexpectedSteps;

    /// <summary>Workflow steps undone by a succeeded compensation step, with the earliest compensation's event time.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> Compensated => _compensated;

    public IReadOnlySet<Guid> SeenEventIds => _seenEventIds;

    public bool IsTerminal => Status != OrderStatus.InProgress;

    public static OrderState Fold(WorkflowDefinition workflow, IEnumerable<OperationalEvent> events)
    {
        OrderState? state = null;
        foreach (var e in events)
        {
            state ??= new OrderState { OrderId = e.OrderId };
            state.Apply(workflow, e);
        }

        return state ?? throw new ArgumentException("an order needs at least one event", nameof(events));
    }

    /// <summary>Folds one event in and says what it was. Duplicates change nothing; events after the terminal outcome only count as seen.</summary>
    public EventFlags Apply(WorkflowDefinition workflow, OperationalEvent e)
    {
        if (e.OrderId != OrderId)
        {
            throw new ArgumentException($"event for order {e.OrderId} folded into order {OrderId}", nameof(e));
        }

        var flags = EventFlags.None;
        if (!_seenEventIds.Add(e.EventId))
        {
            return EventFlags.Duplicate;
        }

        // One lookup says what the step is. Its name is then the workflow's own string, so orders kept in memory do not
        // each hold a copy from their events.
        var role = workflow.Role(e.Step);
        var step = role?.Name ?? e.Step;

        if (EventCount == 0)
        {
            FirstEventAt = e.OccurredAt;
            LastEventAt = e.OccurredAt;
            LastStep = step;
        }
        else if (e.OccurredAt < LastEventAt)
        {
            flags |= EventFlags.Late;
        }

        EventCount++;
        if (e.OccurredAt < FirstEventAt)
        {
            FirstEventAt = e.OccurredAt;
        }

        // Judged by event time: a step that happened before the order ended still counts when it arrives late.
        // Compensation is what should follow an expired or cancelled order, so it is not after-terminal there.
        var compensated = role?.Compensates;
        var afterTerminal = IsTerminal && e.OccurredAt > TerminalAt
            && !(compensated is not null && Status is OrderStatus.Expired or OrderStatus.Cancelled);
        if (role is null)
        {
            flags |= EventFlags.UnplannedStep;
            if (!afterTerminal && !_unexpectedSteps.Contains(step))
            {
                _unexpectedSteps.Add(step);
            }
        }

        if (afterTerminal)
        {
            return flags | EventFlags.AfterTerminal;
        }

        if (e.OccurredAt > LastEventAt)
        {
            LastEventAt = e.OccurredAt;
            LastStep = step;
        }

        if ((flags & EventFlags.UnplannedStep) != 0)
        {
            return flags;
        }

        if (compensated is not null)
        {
            return flags | ApplyCompensation(e, step, compensated);
        }

        var definition = role!.Definition;
        if (definition is not null)
        {
            var progress = Progress(step);
            if (e.Outcome == StepOutcome.Succeeded)
            {
                if (progress.Succeeded > 0)
                {
                    flags |= EventFlags.Repeated;
                }

                if (!AllSucceeded(definition.After))
                {
                    flags |= EventFlags.SkippedDependencies;
                }

                progress.Succeed(e.OccurredAt);
                if (definition.After.Count == 0)
                {
                    PlacedAt = Earliest(PlacedAt, e.OccurredAt);
                }
            }
            else
            {
                RecordFailure(progress, e);
            }
        }

        if (!IsTerminal && e.Outcome == StepOutcome.Succeeded && role.Terminal is { } terminal)
        {
            Status = terminal;
            TerminalStep = step;
            TerminalAt = e.OccurredAt;
        }

        return flags;
    }

    private EventFlags ApplyCompensation(OperationalEvent e, string step, string compensated)
    {
        var flags = EventFlags.None;
        var progress = Progress(step);
        if (e.Outcome == StepOutcome.Failed)
        {
            RecordFailure(progress, e);
            return flags;
        }

        if (progress.Succeeded > 0)
        {
            flags |= EventFlags.Repeated;
        }

        if (!HasSucceeded(compensated))
        {
            flags |= EventFlags.NothingToCompensate;
        }

        progress.Succeed(e.OccurredAt);
        _compensated[compensated] = Earliest(_compensated.TryGetValue(compensated, out var at) ? at : null, e.OccurredAt);
        return flags;
    }

    private StepProgress Progress(string step) => _steps.TryGetValue(step, out var p) ? p : _steps[step] = new StepProgress();

    private void RecordFailure(StepProgress progress, OperationalEvent e)
    {
        _failures++;
        progress.Fail(e.OccurredAt, e.Reason);
    }

    public bool HasSucceeded(string step) => _steps.TryGetValue(step, out var p) && p.Succeeded > 0;

    private bool AllSucceeded(IReadOnlyList<string> steps)
    {
        foreach (var step in steps)
        {
            if (!HasSucceeded(step))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Where the order is now: the steps it waits for (several on parallel branches).</summary>
    public IReadOnlyList<string> Positions(WorkflowDefinition workflow)
    {
        if (IsTerminal)
        {
            return [];
        }

        var positions = new List<string>(2);
        foreach (var step in workflow.Steps)
        {
            if (!HasSucceeded(step.Name) && AllSucceeded(step.After))
            {
                positions.Add(step.Name);
            }
        }

        return positions;
    }

    /// <summary>Steps that should have happened before a step that did: the gaps in the actual path.</summary>
    public IReadOnlyList<string> MissingSteps(WorkflowDefinition workflow) =>
        workflow.Steps
            .Where(s => !HasSucceeded(s.Name) && workflow.Steps.Any(later => HasSucceeded(later.Name) && DependsOn(workflow, later, s.Name)))
            .Select(s => s.Name)
            .ToList();

    public IReadOnlyList<string> RepeatedSteps() => _steps.Where(kv => kv.Value.Succeeded > 1).Select(kv => kv.Key).ToList();

    /// <summary>The most recent failure that has not been followed by a success of the same step.</summary>
    public (string Step, string? Reason)? OpenFailure()
    {
        // A loop, not a query: the projection asks this of every order it writes, most of which never failed.
        if (_failures == 0)
        {
            return null;
        }

        (string Step, string? Reason)? open = null;
        DateTimeOffset? latest = null;
        foreach (var (step, progress) in _steps)
        {
            if (progress.Failed > 0 && progress.Succeeded == 0 && (open is null || progress.LastFailedAt > latest))
            {
                open = (step, progress.LastFailureReason);
                latest = progress.LastFailedAt;
            }
        }

        return open;
    }

    /// <summary>When each current position became possible (the latest success among its dependencies).</summary>
    public DateTimeOffset? ReadySince(WorkflowDefinition workflow, string step) =>
        workflow.Find(step) is { } definition ? ReadySince(definition) : null;

    /// <summary>When a workflow step became possible: the first event for the first step, else the latest success among
    /// the steps it runs after, once they all succeeded.</summary>
    public DateTimeOffset? ReadySince(StepDefinition step)
    {
        if (step.After.Count == 0)
        {
            return FirstEventAt;
        }

        DateTimeOffset? latest = null;
        foreach (var after in step.After)
        {
            if (!_steps.TryGetValue(after, out var progress) || progress.Succeeded == 0)
            {
                return null;
            }

            latest = latest is null || progress.SucceededAt > latest ? progress.SucceededAt : latest;
        }

        return latest;
    }

    /// <summary>Every workflow step that has succeeded, in workflow order, with when it became ready and first succeeded.</summary>
    public IReadOnlyList<StepTiming> StepTimings(WorkflowDefinition workflow)
    {
        var timings = new List<StepTiming>(_steps.Count);
        foreach (var step in workflow.Steps)
        {
            if (_steps.TryGetValue(step.Name, out var progress) && progress.SucceededAt is { } succeededAt)
            {
                timings.Add(new StepTiming(step.Name, ReadySince(step), succeededAt));
            }
        }

        return timings;
    }

    /// <summary>
    /// The step timings (with a duration ≥ 0) an event just folded made known, each once over the order's life: the
    /// event's step at its first applied success, once the steps it runs after have succeeded; and a step that succeeded
    /// before this event's step did and was waiting only for it. The flow dashboard counts each there (decision 0026).
    /// A later event that moves a known time (an earlier first event, say) does not count the step again.
    /// </summary>
    public IReadOnlyList<StepTiming> TimingsKnownBy(WorkflowDefinition workflow, OperationalEvent e, EventFlags flags)
    {
        const EventFlags notFirstApplied = EventFlags.Duplicate | EventFlags.AfterTerminal | EventFlags.UnplannedStep | EventFlags.Repeated;
        if (e.Outcome != StepOutcome.Succeeded || (flags & notFirstApplied) != 0 || workflow.Find(e.Step) is not { } step)
        {
            return [];
        }

        var known = new List<StepTiming>(1);
        Add(step);
        foreach (var later in workflow.Steps)
        {
            if (later.After.Contains(step.Name) && HasSucceeded(later.Name))
            {
                Add(later);
            }
        }

        return known;

        void Add(StepDefinition s)
        {
            if (_steps.TryGetValue(s.Name, out var progress) && progress.SucceededAt is { } at && ReadySince(s) is { } ready && at >= ready)
            {
                known.Add(new StepTiming(s.Name, ready, at));
            }
        }
    }

    private static DateTimeOffset Earliest(DateTimeOffset? current, DateTimeOffset candidate) =>
        current is { } c && c <= candidate ? c : candidate;

    private static bool DependsOn(WorkflowDefinition workflow, StepDefinition step, string ancestor) =>
        step.After.Contains(ancestor) || step.After.Select(workflow.Find).OfType<StepDefinition>().Any(d => DependsOn(workflow, d, ancestor));
}
