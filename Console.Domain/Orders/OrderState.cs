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

    /// <summary>Step name is not in the workflow.</summary>
    UnknownStep = 8,

    /// <summary>The step had already succeeded.</summary>
    Repeated = 16,

    /// <summary>The step ran before the steps it depends on succeeded.</summary>
    SkippedDependencies = 32,

    /// <summary>A compensation (payment-refunded) of a step that had not succeeded (payment-authorized): nothing to undo.</summary>
    NothingToCompensate = 64,
}

public sealed class StepProgress
{
    public int Succeeded { get; set; }

    public int Failed { get; set; }

    public DateTimeOffset? SucceededAt { get; set; }

    public DateTimeOffset? LastFailedAt { get; set; }

    public string? LastFailureReason { get; set; }
}

/// <summary>An order as the fold of its operational events. Mutated only through Apply.</summary>
public sealed class OrderState
{
    private readonly Dictionary<string, DateTimeOffset> _compensated = [];

    public required string OrderId { get; init; }

    public OrderStatus Status { get; set; } = OrderStatus.InProgress;

    public DateTimeOffset? PlacedAt { get; set; }

    public DateTimeOffset FirstEventAt { get; set; }

    public DateTimeOffset LastEventAt { get; set; }

    public string? LastStep { get; set; }

    public string? TerminalStep { get; set; }

    public DateTimeOffset? TerminalAt { get; set; }

    public int EventCount { get; set; }

    public Dictionary<string, StepProgress> Steps { get; init; } = [];

    public List<string> UnexpectedSteps { get; init; } = [];

    /// <summary>Workflow steps undone by a succeeded compensation step, with the earliest compensation's event time.</summary>
    public Dictionary<string, DateTimeOffset> Compensated => _compensated;

    public HashSet<Guid> SeenEventIds { get; init; } = [];

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
        if (!SeenEventIds.Add(e.EventId))
        {
            return EventFlags.Duplicate;
        }

        if (EventCount == 0)
        {
            FirstEventAt = e.OccurredAt;
            LastEventAt = e.OccurredAt;
            LastStep = e.Step;
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
        var compensated = workflow.Compensates(e.Step);
        var afterTerminal = IsTerminal && e.OccurredAt > TerminalAt
            && !(compensated is not null && Status is OrderStatus.Expired or OrderStatus.Cancelled);
        if (!workflow.IsKnown(e.Step))
        {
            flags |= EventFlags.UnknownStep;
            if (!afterTerminal && !UnexpectedSteps.Contains(e.Step))
            {
                UnexpectedSteps.Add(e.Step);
            }
        }

        if (afterTerminal)
        {
            return flags | EventFlags.AfterTerminal;
        }

        if (e.OccurredAt > LastEventAt)
        {
            LastEventAt = e.OccurredAt;
            LastStep = e.Step;
        }

        if ((flags & EventFlags.UnknownStep) != 0)
        {
            return flags;
        }

        if (compensated is not null)
        {
            return flags | ApplyCompensation(e, compensated);
        }

        var definition = workflow.Find(e.Step);
        if (definition is not null)
        {
            var progress = Progress(e.Step);
            if (e.Outcome == StepOutcome.Succeeded)
            {
                if (progress.Succeeded > 0)
                {
                    flags |= EventFlags.Repeated;
                }

                if (definition.After.Any(d => !HasSucceeded(d)))
                {
                    flags |= EventFlags.SkippedDependencies;
                }

                progress.Succeeded++;
                progress.SucceededAt = Earliest(progress.SucceededAt, e.OccurredAt);
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

        if (!IsTerminal && e.Outcome == StepOutcome.Succeeded && workflow.TerminalSteps.TryGetValue(e.Step, out var terminal))
        {
            Status = terminal;
            TerminalStep = e.Step;
            TerminalAt = e.OccurredAt;
        }

        return flags;
    }

    private EventFlags ApplyCompensation(OperationalEvent e, string compensated)
    {
        var flags = EventFlags.None;
        var progress = Progress(e.Step);
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

        progress.Succeeded++;
        progress.SucceededAt = Earliest(progress.SucceededAt, e.OccurredAt);
        Compensated[compensated] = Earliest(Compensated.TryGetValue(compensated, out var at) ? at : null, e.OccurredAt);
        return flags;
    }

    private StepProgress Progress(string step) => Steps.TryGetValue(step, out var p) ? p : Steps[step] = new StepProgress();

    private static void RecordFailure(StepProgress progress, OperationalEvent e)
    {
        progress.Failed++;
        if (progress.LastFailedAt is null || e.OccurredAt >= progress.LastFailedAt)
        {
            progress.LastFailedAt = e.OccurredAt;
            progress.LastFailureReason = e.Reason;
        }
    }

    public bool HasSucceeded(string step) => Steps.TryGetValue(step, out var p) && p.Succeeded > 0;

    /// <summary>Where the order is now: the steps it waits for (several on parallel branches).</summary>
    public IReadOnlyList<string> Positions(WorkflowDefinition workflow) =>
        IsTerminal
            ? []
            : workflow.Steps.Where(s => !HasSucceeded(s.Name) && s.After.All(HasSucceeded)).Select(s => s.Name).ToList();

    /// <summary>Steps that should have happened before a step that did: the gaps in the actual path.</summary>
    public IReadOnlyList<string> MissingSteps(WorkflowDefinition workflow) =>
        workflow.Steps
            .Where(s => !HasSucceeded(s.Name) && workflow.Steps.Any(later => HasSucceeded(later.Name) && DependsOn(workflow, later, s.Name)))
            .Select(s => s.Name)
            .ToList();

    public IReadOnlyList<string> RepeatedSteps() => Steps.Where(kv => kv.Value.Succeeded > 1).Select(kv => kv.Key).ToList();

    /// <summary>The most recent failure that has not been followed by a success of the same step.</summary>
    public (string Step, string? Reason)? OpenFailure() =>
        Steps.Where(kv => kv.Value.Failed > 0 && kv.Value.Succeeded == 0)
            .OrderByDescending(kv => kv.Value.LastFailedAt)
            .Select(kv => ((string Step, string? Reason)?)(kv.Key, kv.Value.LastFailureReason))
            .FirstOrDefault();

    /// <summary>When each current position became possible (the latest success among its dependencies).</summary>
    public DateTimeOffset? ReadySince(WorkflowDefinition workflow, string step)
    {
        var definition = workflow.Find(step);
        if (definition is null)
        {
            return null;
        }

        if (definition.After.Count == 0)
        {
            return FirstEventAt;
        }

        return definition.After.All(HasSucceeded) ? definition.After.Max(d => Steps[d].SucceededAt) : null;
    }

    /// <summary>Every workflow step that has succeeded, in workflow order, with when it became ready and first succeeded.</summary>
    public IReadOnlyList<StepTiming> StepTimings(WorkflowDefinition workflow)
    {
        var timings = new List<StepTiming>(Steps.Count);
        foreach (var step in workflow.Steps)
        {
            if (Steps.TryGetValue(step.Name, out var progress) && progress.SucceededAt is { } succeededAt)
            {
                timings.Add(new StepTiming(step.Name, ReadySince(workflow, step.Name), succeededAt));
            }
        }

        return timings;
    }

    private static DateTimeOffset Earliest(DateTimeOffset? current, DateTimeOffset candidate) =>
        current is { } c && c <= candidate ? c : candidate;

    private static bool DependsOn(WorkflowDefinition workflow, StepDefinition step, string ancestor) =>
        step.After.Contains(ancestor) || step.After.Select(workflow.Find).OfType<StepDefinition>().Any(d => DependsOn(workflow, d, ancestor));
}
