using OrderFlow.Domain.Events;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Sla;
using OrderFlow.Domain.Workflow;

namespace OrderFlow.Web.Orders;

/// <summary>What the graph shows for one workflow step of one order.</summary>
public enum StepState
{
    /// <summary>Not possible yet: a step it runs after has not succeeded.</summary>
    Pending,

    /// <summary>Possible now, within its SLA.</summary>
    Waiting,

    /// <summary>Possible now and past the at-risk share of its SLA.</summary>
    Late,

    /// <summary>Possible now and past its SLA.</summary>
    Breached,

    /// <summary>Failed and not (yet) followed by a success.</summary>
    Failed,

    Done,

    /// <summary>Succeeded, then undone by its compensation (payment-refunded undoes payment-authorized).</summary>
    Compensated,

    /// <summary>Never happened: the order ended without it.</summary>
    Skipped,
}

/// <summary>A step placed on the graph: column by dependency depth, row so parallel branches sit side by side.</summary>
public sealed record PathStep(
    string Name,
    int Column,
    int Row,
    IReadOnlyList<string> After,
    StepState State,
    bool IsPosition,
    DateTimeOffset? ReadyAt,
    DateTimeOffset? SucceededAt,
    SlaClock? Clock,
    string? FailureReason);

/// <summary>An order's path through the workflow, from its stored events (folded in arrival order, as Console.Ingest folds them).</summary>
public sealed record OrderPath(IReadOnlyList<PathStep> Steps, IReadOnlyList<SlaClock> Clocks, OrderState State)
{
    public static OrderPath Build(WorkflowDefinition workflow, IEnumerable<OrderEventView> events, string orderId, DateTimeOffset now, double atRiskShare)
    {
        var ordered = events.OrderBy(e => e.Id).Select(e => new OperationalEvent(
            e.EventId, orderId, e.Step, e.Service, e.Outcome == StepOutcomeNames.Failed ? StepOutcome.Failed : StepOutcome.Succeeded, e.Reason, e.OccurredAt,
            OperationalEvent.CurrentSchemaVersion, e.Attributes.GetRawText())).ToList();
        var state = ordered.Count == 0 ? new OrderState { OrderId = orderId } : OrderState.Fold(workflow, ordered);
        var positions = state.Positions(workflow);
        var clocks = ordered.Count == 0 ? [] : SlaEvaluation.Clocks(state, workflow, positions);
        var compensated = state.Compensated;

        var columns = new Dictionary<string, int>(StringComparer.Ordinal);
        var rows = new Dictionary<string, int>(StringComparer.Ordinal);
        var taken = new HashSet<(int, int)>();
        var steps = new List<PathStep>();
        foreach (var step in workflow.Steps)
        {
            var column = step.After.Count == 0 ? 0 : step.After.Max(a => columns.GetValueOrDefault(a)) + 1;
            var preferred = step.After.Count == 0 ? 0 : step.After.Min(a => rows.GetValueOrDefault(a));
            var row = preferred;
            while (!taken.Add((column, row)))
            {
                row++;
            }

            columns[step.Name] = column;
            rows[step.Name] = row;

            var progress = state.Steps.GetValueOrDefault(step.Name);
            var clock = clocks.FirstOrDefault(c => c.Scope == step.Name);
            var isPosition = positions.Contains(step.Name);
            var stepState =
                compensated.ContainsKey(step.Name) ? StepState.Compensated
                : state.HasSucceeded(step.Name) ? StepState.Done
                : state.IsTerminal ? StepState.Skipped
                : progress is { Failed: > 0 } ? StepState.Failed
                : !isPosition ? StepState.Pending
                : clock?.StateAt(now, atRiskShare) switch
                {
                    SlaState.Breached => StepState.Breached,
                    SlaState.AtRisk => StepState.Late,
                    _ => StepState.Waiting,
                };
            steps.Add(new PathStep(step.Name, column, row, step.After, stepState, isPosition, state.ReadySince(step), progress?.SucceededAt, clock,
                stepState == StepState.Failed ? progress?.LastFailureReason ?? "failed" : null));
        }

        return new OrderPath(steps, clocks, state);
    }

    public static string Label(StepState state) => state switch
    {
        StepState.Late => "running late",
        _ => state.ToString().ToLowerInvariant(),
    };
}
