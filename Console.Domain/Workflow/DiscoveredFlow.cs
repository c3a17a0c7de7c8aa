using OrderFlow.Domain.Events;

namespace OrderFlow.Domain.Workflow;

/// <summary>A step an order took: its first success, by event time.</summary>
public readonly record struct TakenStep(string Step, DateTimeOffset At);

/// <summary>One order's way through the steps: every step it succeeded in, once, at its first success, earliest first.</summary>
public sealed record OrderTrace(string OrderId, IReadOnlyList<TakenStep> Steps);

/// <summary>An order moving from one step to the next, and the time between the two successes.</summary>
public readonly record struct Transition(string From, string To, TimeSpan Took);

public sealed record TransitionCount(string From, string To, int Orders, TimeSpan Median, bool Defined);

public sealed record VariantShare(IReadOnlyList<string> Steps, int Orders, double Share);

/// <summary>The flow orders took, beside the definition: transitions, path variants and what differs.</summary>
public sealed record DiscoveredFlowSummary(
    int Orders,
    IReadOnlyList<TransitionCount> Transitions,
    IReadOnlyList<VariantShare> Variants,
    IReadOnlyList<string> SeenNotDefined,
    IReadOnlyList<string> DefinedNeverSeen,
    int OrdersOffTheDefinedPath)
{
    /// <summary>How many orders took each step (succeeded in it at least once).</summary>
    public IReadOnlyDictionary<string, int> StepOrders { get; init; } = new Dictionary<string, int>();
}

/// <summary>
/// The discovered flow, as pure arithmetic over orders' traces (issue 17). Parallel branches must not split the picture
/// by which branch finished first, so: a workflow step's transition comes from whichever of the steps it runs after
/// succeeded last (what it waited for), not from whatever happened just before it; a variant lists the workflow steps
/// an order took in the workflow's order, then any other steps in the order they happened. A duplicate or a repeated
/// success adds nothing (only a step's first success counts) and a late event takes its place by event time.
/// </summary>
public static class DiscoveredFlow
{
    public static OrderTrace Trace(WorkflowDefinition workflow, string orderId, IEnumerable<OperationalEvent> events)
    {
        var first = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            if (e.Outcome == StepOutcome.Succeeded && (!first.TryGetValue(e.Step, out var at) || e.OccurredAt < at))
            {
                first[e.Step] = e.OccurredAt;
            }
        }

        return Trace(workflow, orderId, first.Select(f => new TakenStep(f.Key, f.Value)));
    }

    /// <summary>A trace from each step's first success (one per step, as PostgreSQL groups them), earliest first.</summary>
    public static OrderTrace Trace(WorkflowDefinition workflow, string orderId, IEnumerable<TakenStep> firstSuccesses) =>
        new(orderId, [.. firstSuccesses.OrderBy(s => s.At).ThenBy(s => Position(workflow, s.Step)).ThenBy(s => s.Step, StringComparer.Ordinal)]);

    public static IReadOnlyList<Transition> Transitions(WorkflowDefinition workflow, OrderTrace trace)
    {
        var transitions = new List<Transition>();
        for (var i = 1; i < trace.Steps.Count; i++)
        {
            var to = trace.Steps[i];
            var earlier = trace.Steps.Take(i);
            var after = workflow.Find(to.Step)?.After ?? [];
            var waitedFor = earlier.Where(s => after.Contains(s.Step)).ToList();
            var from = (waitedFor.Count > 0 ? waitedFor : earlier).MaxBy(s => s.At);
            transitions.Add(new Transition(from.Step, to.Step, to.At - from.At));
        }

        return transitions;
    }

    /// <summary>The workflow steps taken in the workflow's order, then the other steps taken in the order they happened.</summary>
    public static IReadOnlyList<string> Variant(WorkflowDefinition workflow, OrderTrace trace) =>
        [.. trace.Steps.Where(s => workflow.Find(s.Step) is not null).OrderBy(s => Position(workflow, s.Step)).Select(s => s.Step),
         .. trace.Steps.Where(s => workflow.Find(s.Step) is null).Select(s => s.Step)];

    /// <summary>Whether a workflow step succeeded before every step it runs after had (a path the definition does not allow).</summary>
    public static bool LeftTheDefinedPath(WorkflowDefinition workflow, OrderTrace trace)
    {
        var at = trace.Steps.ToDictionary(s => s.Step, s => s.At, StringComparer.Ordinal);
        return trace.Steps.Any(s => workflow.Find(s.Step) is { } d && d.After.Any(a => !at.TryGetValue(a, out var before) || before > s.At));
    }

    public static DiscoveredFlowSummary Summarize(WorkflowDefinition workflow, IReadOnlyCollection<OrderTrace> traces, int topVariants = 10)
    {
        var defined = workflow.Steps.SelectMany(s => s.After.Select(a => (a, s.Name))).ToHashSet();
        var transitions = traces.SelectMany(t => Transitions(workflow, t))
            .GroupBy(t => (t.From, t.To))
            .Select(g => new TransitionCount(g.Key.From, g.Key.To, g.Count(), Median(g.Select(t => t.Took)), defined.Contains(g.Key)))
            .OrderByDescending(t => t.Orders).ThenBy(t => t.From, StringComparer.Ordinal).ThenBy(t => t.To, StringComparer.Ordinal).ToList();
        var variants = traces.Select(t => Variant(workflow, t))
            .GroupBy(v => string.Join('\n', v))
            .Select(g => new VariantShare(g.First(), g.Count(), (double)g.Count() / traces.Count))
            .OrderByDescending(v => v.Orders).ThenBy(v => string.Join('\n', v.Steps), StringComparer.Ordinal).Take(topVariants).ToList();
        var stepOrders = traces.SelectMany(t => t.Steps.Select(s => s.Step)).GroupBy(s => s, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var seen = stepOrders.Keys.ToHashSet(StringComparer.Ordinal);
        return new DiscoveredFlowSummary(
            traces.Count,
            transitions,
            variants,
            [.. seen.Where(s => !workflow.IsKnown(s)).Order(StringComparer.Ordinal)],
            [.. workflow.Steps.Select(s => s.Name).Where(s => !seen.Contains(s))],
            traces.Count(t => LeftTheDefinedPath(workflow, t))) { StepOrders = stepOrders };
    }

    public static TimeSpan Median(IEnumerable<TimeSpan> values)
    {
        var sorted = values.Order().ToList();
        if (sorted.Count == 0)
        {
            return TimeSpan.Zero;
        }

        var middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    private static int Position(WorkflowDefinition workflow, string step)
    {
        for (var i = 0; i < workflow.Steps.Count; i++)
        {
            if (workflow.Steps[i].Name == step)
            {
                return i;
            }
        }

        return int.MaxValue;
    }
}
