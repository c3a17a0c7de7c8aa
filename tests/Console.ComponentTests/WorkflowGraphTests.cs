using System.Text.Json;
using OrderFlow.Domain.Workflow;
using OrderFlow.Web.Orders;

namespace OrderFlow.ComponentTests;

public sealed class WorkflowGraphTests : ComponentTest
{
    private static readonly WorkflowDefinition Workflow = WorkflowDefinition.Default;

    [Fact]
    public void Every_step_state_is_drawn_with_its_label()
    {
        var states = Enum.GetValues<StepState>();
        var steps = states.Select((s, i) => new PathStep($"step-{i}", i, 0, i == 0 ? [] : [$"step-{i - 1}"], s, s is StepState.Waiting, null, null, null,
            s == StepState.Failed ? "card declined" : null)).ToList();

        var cut = Render<WorkflowGraph>(p => p.Add(g => g.Steps, steps));

        var nodes = cut.FindAll("[data-testid=graph-step]");
        Assert.Equal(
            ["pending", "waiting", "running late", "breached", "failed", "done", "compensated", "skipped"],
            nodes.Select(n => n.GetAttribute("data-state") ?? "").ToArray());
        Assert.Contains("step-position", cut.Find("[data-step=step-1]").GetAttribute("class"));
        Assert.Contains("failed · card declined", cut.Find("[data-step=step-4]").TextContent);
        Assert.Equal(states.Length - 1, cut.FindAll("path.edge").Count);
    }

    [Fact]
    public void A_long_step_name_is_cut_to_fit_its_node_and_shown_whole_in_the_tooltip()
    {
        const string name = "warehouse-pick-list-confirmed-by-carrier";
        var cut = Render<WorkflowGraph>(p => p.Add(g => g.Steps, [new PathStep(name, 0, 0, [], StepState.Waiting, true, null, null, null, null)]));

        var node = cut.Find("[data-testid=graph-step]");
        Assert.Equal(name, node.GetAttribute("data-step"));
        Assert.Equal("warehouse-pick-list-c…", node.QuerySelector(".step-name")!.TextContent);
        Assert.StartsWith(name + ": waiting", node.QuerySelector("title")!.TextContent);
        Assert.Equal("54", node.QuerySelector("rect")!.GetAttribute("height"));
    }

    [Fact]
    public void Parallel_branches_sit_side_by_side_in_one_column_and_the_failed_branch_shows_failed()
    {
        // placed, payment failed, stock reserved: the order waits for payment (failed) and shipping (ready since stock).
        var path = OrderPath.Build(Workflow, [
            Event(1, "order-placed", 0), Event(2, "payment-authorized", 1, failed: "card declined"), Event(3, "stock-reserved", 2)],
            "ORD-1", T0.AddSeconds(3), 0.8);

        var cut = Render<WorkflowGraph>(p => p.Add(g => g.Steps, path.Steps));

        var payment = cut.Find("[data-step=payment-authorized]");
        var stock = cut.Find("[data-step=stock-reserved]");
        var (px, py) = Translate(payment.GetAttribute("transform")!);
        var (sx, sy) = Translate(stock.GetAttribute("transform")!);
        Assert.Equal(px, sx);
        Assert.NotEqual(py, sy);
        Assert.Equal("failed", payment.GetAttribute("data-state"));
        Assert.Equal("done", stock.GetAttribute("data-state"));
        Assert.Equal("waiting", cut.Find("[data-step=shipped]").GetAttribute("data-state"));
        Assert.Equal("pending", cut.Find("[data-step=order-completed]").GetAttribute("data-state"));
        Assert.Equal("done", cut.Find("[data-step=order-placed]").GetAttribute("data-state"));
    }

    [Theory]
    [InlineData(10, StepState.Waiting)]
    [InlineData(50, StepState.Late)]
    [InlineData(61, StepState.Breached)]
    public void A_waiting_step_turns_late_then_breached_with_the_clock(int secondsAfterReady, StepState expected)
    {
        // shipped: ready when stock is reserved (T0 + 2 s), SLA 60 s, at-risk after 80 %.
        var path = OrderPath.Build(Workflow, [Event(1, "order-placed", 0), Event(2, "payment-authorized", 1), Event(3, "stock-reserved", 2)],
            "ORD-1", T0.AddSeconds(2 + secondsAfterReady), 0.8);

        Assert.Equal(expected, path.Steps.Single(s => s.Name == "shipped").State);
    }

    [Fact]
    public void A_refunded_payment_is_compensated_and_a_cancelled_order_skips_what_never_happened()
    {
        var path = OrderPath.Build(Workflow, [
            Event(1, "order-placed", 0), Event(2, "payment-authorized", 1), Event(3, "payment-refunded", 2), Event(4, "order-cancelled", 3)],
            "ORD-1", T0.AddSeconds(4), 0.8);

        Assert.Equal(StepState.Compensated, path.Steps.Single(s => s.Name == "payment-authorized").State);
        Assert.Equal(StepState.Skipped, path.Steps.Single(s => s.Name == "stock-reserved").State);
        Assert.Equal(StepState.Done, path.Steps.Single(s => s.Name == "order-placed").State);
        Assert.Empty(path.Clocks);
    }

    private static OrderEventView Event(long id, string step, int seconds, string? failed = null) => new(
        id, Guid.NewGuid(), step, "test-service", failed is null ? "succeeded" : "failed", failed, T0.AddSeconds(seconds), T0.AddSeconds(seconds + 1),
        "order-ops", 0, id, [], null, JsonDocument.Parse("{}").RootElement);

    private static (double X, double Y) Translate(string transform)
    {
        var parts = transform.Replace("translate(", "").TrimEnd(')').Split(' ');
        return (double.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), double.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
    }
}
