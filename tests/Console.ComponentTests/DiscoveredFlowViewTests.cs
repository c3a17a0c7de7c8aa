using OrderFlow.Domain.Workflow;
using OrderFlow.Web.Orders;
using OrderFlow.Web.Workflow;

namespace OrderFlow.ComponentTests;

/// <summary>The discovered flow beside the expected one (/workflow): differences marked on the graph and in the facts.</summary>
public sealed class DiscoveredFlowViewTests : ComponentTest
{
    private static readonly WorkflowDefinition Workflow = WorkflowDefinition.Default;

    private static readonly IReadOnlyList<PathStep> Expected = OrderPath.Build(Workflow, [], "", T0, 0.8).Steps;

    private static OrderTrace Trace(string orderId, params (string Step, int Second)[] steps) =>
        DiscoveredFlow.Trace(Workflow, orderId, steps.Select(s => new TakenStep(s.Step, T0.AddSeconds(s.Second))));

    [Fact]
    public void A_new_step_and_a_step_taken_too_early_are_marked_and_steps_never_taken_are_faint()
    {
        var flow = DiscoveredFlow.Summarize(Workflow, [
            Trace("ORD-1", ("order-placed", 0), ("fraud-checked", 1), ("payment-authorized", 2)),
            Trace("ORD-2", ("order-placed", 0), ("shipped", 1), ("stock-reserved", 2)),
        ]);

        var cut = Render<DiscoveredFlowView>(p => p.Add(v => v.Workflow, Workflow).Add(v => v.Expected, Expected).Add(v => v.Flow, flow));

        Assert.Equal(5, cut.FindAll("[data-testid=expected-graph] [data-testid=graph-step]").Count);
        Assert.Equal("seen, not defined", cut.Find("[data-testid=discovered-step][data-step=fraud-checked]").GetAttribute("data-kind"));
        Assert.Equal("defined, never seen", cut.Find("[data-testid=discovered-step][data-step=order-completed]").GetAttribute("data-kind"));
        Assert.Equal("defined and seen", cut.Find("[data-testid=discovered-step][data-step=shipped]").GetAttribute("data-kind"));
        var newStep = cut.Find("[data-testid=discovered-edge][data-from=order-placed][data-to=fraud-checked]");
        Assert.Equal("no", newStep.GetAttribute("data-defined"));
        Assert.Contains("edge-undefined", newStep.GetAttribute("class"));
        Assert.Equal("1 · 1.0 s", newStep.QuerySelector("text")!.TextContent);
        Assert.Contains("edge-untaken", cut.Find("[data-testid=discovered-edge][data-from=shipped][data-to=order-completed]").GetAttribute("class"));
        Assert.Contains("fraud-checked", cut.Find("[data-testid=seen-not-defined]").TextContent);
        Assert.Contains("order-completed", cut.Find("[data-testid=defined-never-seen]").TextContent);
        Assert.EndsWith("1", cut.Find("[data-testid=off-path]").TextContent.Trim());
    }

    [Fact]
    public void Parallel_branches_are_drawn_side_by_side_in_one_column()
    {
        var flow = DiscoveredFlow.Summarize(Workflow, [
            Trace("ORD-1", ("order-placed", 0), ("payment-authorized", 1), ("stock-reserved", 2), ("shipped", 3), ("order-completed", 4)),
            Trace("ORD-2", ("order-placed", 0), ("stock-reserved", 1), ("payment-authorized", 2), ("shipped", 3), ("order-completed", 4)),
        ]);

        var (nodes, edges) = DiscoveredGraph.Layout(Workflow, flow);

        var column = nodes.ToDictionary(n => n.Step, n => n.Column);
        Assert.Equal(column["payment-authorized"], column["stock-reserved"]);
        Assert.True(column["order-completed"] > column["shipped"]);
        Assert.All(edges, e => Assert.True(e.Defined));
        // order-completed came from shipped (what it waited for last); its wait for payment is drawn as a join, not as untaken.
        var join = Assert.Single(edges, e => e.Orders == 0);
        Assert.Equal(("payment-authorized", "order-completed"), (join.From, join.To));
        var cut = Render<DiscoveredGraphView>(p => p.Add(v => v.Workflow, Workflow).Add(v => v.Flow, flow));
        Assert.Contains("edge-join", cut.Find("[data-from=payment-authorized][data-to=order-completed]").GetAttribute("class"));
        Assert.Empty(cut.FindAll(".edge-untaken"));
        Assert.Equal(1, nodes.Count(n => n.Step == "payment-authorized"));
    }

    [Fact]
    public void A_range_without_orders_says_so_and_still_draws_the_expected_graph()
    {
        var flow = DiscoveredFlow.Summarize(Workflow, []);

        var cut = Render<DiscoveredFlowView>(p => p.Add(v => v.Workflow, Workflow).Add(v => v.Expected, Expected).Add(v => v.Flow, flow));

        Assert.NotNull(cut.Find("[data-testid=flow-empty]"));
        Assert.Empty(cut.FindAll("[data-testid=discovered-graph]"));
        Assert.Equal(5, cut.FindAll("[data-testid=graph-step]").Count);
    }
}
