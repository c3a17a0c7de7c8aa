using OrderFlow.Domain.Workflow;

namespace OrderFlow.Web.Workflow;

/// <summary>How a step of the discovered flow is drawn: as the definition has it, taken but not defined, or defined but never taken.</summary>
public enum DiscoveredStepKind
{
    Defined,
    SeenNotDefined,
    DefinedNeverSeen,
}

public sealed record DiscoveredNode(string Step, int Column, int Row, DiscoveredStepKind Kind, int Orders);

/// <summary>An arrow of the discovered graph: a transition orders took (Orders &gt; 0), or a defined one none took.</summary>
public sealed record DiscoveredEdge(string From, string To, int Orders, TimeSpan Median, bool Defined);

/// <summary>
/// The discovered flow laid out like the expected graph (WorkflowGraph): a step's column is one more than the furthest of
/// the steps orders came to it from (or that it runs after), so parallel branches sit side by side; rows in workflow order.
/// Transitions back to an earlier column (a loop, or a step taken before what it runs after) keep the columns finite.
/// </summary>
public static class DiscoveredGraph
{
    public static (IReadOnlyList<DiscoveredNode> Nodes, IReadOnlyList<DiscoveredEdge> Edges) Layout(WorkflowDefinition workflow, DiscoveredFlowSummary flow)
    {
        var names = workflow.Steps.Select(s => s.Name).Concat(flow.StepOrders.Keys.Where(s => workflow.Find(s) is null).Order(StringComparer.Ordinal))
            .Concat(flow.Transitions.SelectMany(t => new[] { t.From, t.To })).Distinct(StringComparer.Ordinal).ToList();
        var edges = flow.Transitions.Select(t => new DiscoveredEdge(t.From, t.To, t.Orders, t.Median, t.Defined)).ToList();
        var taken = edges.Select(e => (e.From, e.To)).ToHashSet();
        edges.AddRange(workflow.Steps.SelectMany(s => s.After.Select(a => (a, s.Name))).Where(d => !taken.Contains(d))
            .Select(d => new DiscoveredEdge(d.Item1, d.Item2, 0, TimeSpan.Zero, true)));

        var column = names.ToDictionary(n => n, _ => 0, StringComparer.Ordinal);
        for (var pass = 0; pass < names.Count; pass++)
        {
            var moved = false;
            foreach (var e in edges.Where(e => e.From != e.To && column[e.To] < column[e.From] + 1))
            {
                column[e.To] = column[e.From] + 1;
                moved = true;
            }

            if (!moved)
            {
                break;
            }
        }

        var order = names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i, StringComparer.Ordinal);
        var nodes = names.GroupBy(n => column[n]).SelectMany(g => g.OrderBy(n => order[n]).Select((n, row) => new DiscoveredNode(
            n, g.Key, row,
            workflow.Find(n) is null ? DiscoveredStepKind.SeenNotDefined : flow.StepOrders.ContainsKey(n) ? DiscoveredStepKind.Defined : DiscoveredStepKind.DefinedNeverSeen,
            flow.StepOrders.GetValueOrDefault(n)))).ToList();
        return (nodes, edges);
    }
}
