using OrderFlow.Domain.Events;
using OrderFlow.Domain.Workflow;
using static OrderFlow.Domain.Tests.OrderEvents;

namespace OrderFlow.Domain.Tests.Workflow;

public class DiscoveredFlowTests
{
    private static readonly WorkflowDefinition Workflow = WorkflowDefinition.Default;

    private static OrderTrace Trace(string orderId, params OperationalEvent[] events) => DiscoveredFlow.Trace(Workflow, orderId, events);

    [Fact]
    public void Parallel_branches_give_one_variant_and_the_same_transitions_whichever_finishes_first()
    {
        var paymentFirst = Trace("a", Succeeded("order-placed", 0), Succeeded("payment-authorized", 1), Succeeded("stock-reserved", 2), Succeeded("shipped", 3), Succeeded("order-completed", 4));
        var stockFirst = Trace("b", Succeeded("order-placed", 0), Succeeded("stock-reserved", 1), Succeeded("payment-authorized", 2), Succeeded("shipped", 3), Succeeded("order-completed", 4));

        var flow = DiscoveredFlow.Summarize(Workflow, [paymentFirst, stockFirst]);

        var variant = Assert.Single(flow.Variants);
        Assert.Equal(["order-placed", "payment-authorized", "stock-reserved", "shipped", "order-completed"], variant.Steps);
        Assert.Equal(1.0, variant.Share);
        Assert.Equal(
            ["order-placed→payment-authorized 2", "order-placed→stock-reserved 2", "shipped→order-completed 2", "stock-reserved→shipped 2"],
            flow.Transitions.Select(t => $"{t.From}→{t.To} {t.Orders}").Order(StringComparer.Ordinal));
        Assert.All(flow.Transitions, t => Assert.True(t.Defined));
        Assert.Equal(0, flow.OrdersOffTheDefinedPath);
    }

    [Fact]
    public void Duplicates_repeats_and_late_events_add_no_transition()
    {
        var placed = Succeeded("order-placed", 0);
        var clean = Trace("a", placed, Succeeded("stock-reserved", 2), Succeeded("shipped", 5));
        var noisy = Trace("a", placed, Succeeded("stock-reserved", 2), placed, Succeeded("shipped", 5), Succeeded("stock-reserved", 9),
            Failed("payment-authorized", 6, "declined"), Succeeded("stock-reserved", 1));

        // The late success of stock-reserved (second 1) replaces the first one's time; nothing else changes.
        Assert.Equal(
            [new Transition("order-placed", "stock-reserved", TimeSpan.FromSeconds(1)), new Transition("stock-reserved", "shipped", TimeSpan.FromSeconds(4))],
            DiscoveredFlow.Transitions(Workflow, noisy));
        Assert.Equal(DiscoveredFlow.Transitions(Workflow, clean).Select(t => (t.From, t.To)), DiscoveredFlow.Transitions(Workflow, noisy).Select(t => (t.From, t.To)));
    }

    [Fact]
    public void A_transition_counts_orders_and_takes_the_median_time()
    {
        OrderTrace Paid(string id, int seconds) => Trace(id, Succeeded("order-placed", 0), Succeeded("payment-authorized", seconds));

        var odd = DiscoveredFlow.Summarize(Workflow, [Paid("a", 1), Paid("b", 10), Paid("c", 3)]);
        var even = DiscoveredFlow.Summarize(Workflow, [Paid("a", 1), Paid("b", 10), Paid("c", 3), Paid("d", 4)]);

        Assert.Equal((3, TimeSpan.FromSeconds(3)), (odd.Transitions[0].Orders, odd.Transitions[0].Median));
        Assert.Equal((4, TimeSpan.FromSeconds(3.5)), (even.Transitions[0].Orders, even.Transitions[0].Median));
    }

    [Fact]
    public void A_new_step_is_seen_not_defined_its_transition_undefined_and_steps_never_taken_are_named()
    {
        var trace = Trace("a", Succeeded("order-placed", 0), Succeeded("fraud-checked", 2), Succeeded("payment-authorized", 3));

        var flow = DiscoveredFlow.Summarize(Workflow, [trace]);

        Assert.Equal(["fraud-checked"], flow.SeenNotDefined);
        Assert.Equal(["stock-reserved", "shipped", "order-completed"], flow.DefinedNeverSeen);
        Assert.Contains(flow.Transitions, t => t is { From: "order-placed", To: "fraud-checked", Defined: false });
        // payment-authorized came from what it waits for (order-placed), not from the new step that happened in between.
        Assert.Contains(flow.Transitions, t => t is { From: "order-placed", To: "payment-authorized", Defined: true } && t.Median == TimeSpan.FromSeconds(3));
        Assert.Equal(["order-placed", "payment-authorized", "fraud-checked"], Assert.Single(flow.Variants).Steps);
    }

    [Fact]
    public void A_step_before_what_it_runs_after_is_a_path_the_definition_does_not_allow()
    {
        var shippedFirst = Trace("a", Succeeded("order-placed", 0), Succeeded("shipped", 1), Succeeded("stock-reserved", 2));
        var inOrder = Trace("b", Succeeded("order-placed", 0), Succeeded("stock-reserved", 1), Succeeded("shipped", 2));

        Assert.True(DiscoveredFlow.LeftTheDefinedPath(Workflow, shippedFirst));
        Assert.False(DiscoveredFlow.LeftTheDefinedPath(Workflow, inOrder));
        Assert.Equal(1, DiscoveredFlow.Summarize(Workflow, [shippedFirst, inOrder]).OrdersOffTheDefinedPath);
    }
}
