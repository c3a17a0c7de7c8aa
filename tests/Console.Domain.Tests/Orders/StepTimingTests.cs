using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Workflow;
using static OrderFlow.Domain.Tests.OrderEvents;

namespace OrderFlow.Domain.Tests.Orders;

public class StepTimingTests
{
    private static readonly WorkflowDefinition Workflow = WorkflowDefinition.Default;

    [Fact]
    public void Each_step_runs_from_the_latest_success_it_waits_for_to_its_own_first_success()
    {
        var state = OrderState.Fold(Workflow, [
            Succeeded("order-placed", 0),
            Succeeded("stock-reserved", 2),
            Succeeded("payment-authorized", 7),
            Succeeded("shipped", 5),
            Succeeded("order-completed", 9),
        ]);

        var timings = state.StepTimings(Workflow).ToDictionary(t => t.Step);

        Assert.Equal(["order-placed", "payment-authorized", "stock-reserved", "shipped", "order-completed"], state.StepTimings(Workflow).Select(t => t.Step));
        Assert.Equal(TimeSpan.Zero, timings["order-placed"].Duration);
        Assert.Equal(TimeSpan.FromSeconds(7), timings["payment-authorized"].Duration);
        Assert.Equal(TimeSpan.FromSeconds(2), timings["stock-reserved"].Duration);
        Assert.Equal(T0.AddSeconds(2), timings["shipped"].ReadyAt);
        Assert.Equal(TimeSpan.FromSeconds(3), timings["shipped"].Duration);
        // Completion waits for both branches: shipping (5 s) and the later payment (7 s).
        Assert.Equal(T0.AddSeconds(7), timings["order-completed"].ReadyAt);
        Assert.Equal(TimeSpan.FromSeconds(2), timings["order-completed"].Duration);
    }

    [Fact]
    public void A_step_whose_predecessor_has_not_arrived_has_no_duration_until_it_does()
    {
        var state = OrderState.Fold(Workflow, [Succeeded("order-placed", 0), Succeeded("shipped", 5)]);

        var shipped = Assert.Single(state.StepTimings(Workflow), t => t.Step == "shipped");
        Assert.Null(shipped.ReadyAt);
        Assert.Null(shipped.Duration);

        state.Apply(Workflow, Succeeded("stock-reserved", 2));

        Assert.Equal(TimeSpan.FromSeconds(3), Assert.Single(state.StepTimings(Workflow), t => t.Step == "shipped").Duration);
    }

    [Fact]
    public void Only_succeeded_steps_have_timings_and_a_repeat_keeps_the_first_success()
    {
        var state = OrderState.Fold(Workflow, [
            Succeeded("order-placed", 0),
            Failed("payment-authorized", 1, "card declined"),
            Succeeded("stock-reserved", 4),
            Succeeded("stock-reserved", 3),
        ]);

        var timings = state.StepTimings(Workflow);

        Assert.Equal(["order-placed", "stock-reserved"], timings.Select(t => t.Step));
        Assert.Equal(T0.AddSeconds(3), timings[1].SucceededAt);
        Assert.Equal(TimeSpan.FromSeconds(3), timings[1].Duration);
    }

    [Fact]
    public void The_first_step_is_ready_from_the_order_s_first_event()
    {
        var state = OrderState.Fold(Workflow, [Succeeded("stock-reserved", 1), Succeeded("order-placed", 4)]);

        var placed = Assert.Single(state.StepTimings(Workflow), t => t.Step == "order-placed");

        Assert.Equal(T0.AddSeconds(1), placed.ReadyAt);
        Assert.Equal(TimeSpan.FromSeconds(3), placed.Duration);
    }
}
