using OrderFlow.Domain.Events;
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

    [Fact]
    public void The_timings_each_event_makes_known_are_the_order_s_timings_once_whatever_the_arrival_order()
    {
        // Out of order by event time too: payment after shipping.
        OperationalEvent[] events =
        [
            Succeeded("order-placed", 0),
            Succeeded("stock-reserved", 2),
            Succeeded("payment-authorized", 7),
            Succeeded("shipped", 5),
            Succeeded("order-completed", 9),
        ];
        var expected = Describe(OrderState.Fold(Workflow, events).StepTimings(Workflow).Where(t => t.Duration >= TimeSpan.Zero));
        Assert.Equal(5, expected.Count);

        foreach (var arrival in Permutations(events))
        {
            var state = new OrderState { OrderId = OrderId };
            var known = new List<StepTiming>();
            foreach (var e in arrival)
            {
                known.AddRange(state.TimingsKnownBy(Workflow, e, state.Apply(Workflow, e)));
            }

            Assert.Equal(expected, Describe(known));
        }
    }

    [Fact]
    public void Failures_duplicates_repeats_and_events_after_the_end_make_nothing_known()
    {
        var state = new OrderState { OrderId = OrderId };
        var placed = Succeeded("order-placed", 0);
        IReadOnlyList<StepTiming> Fold(OperationalEvent e) => state.TimingsKnownBy(Workflow, e, state.Apply(Workflow, e));

        Assert.Equal(["order-placed 0"], Describe(Fold(placed)));
        Assert.Empty(Fold(placed));
        Assert.Empty(Fold(Failed("payment-authorized", 1, "card declined")));
        Assert.Equal(["payment-authorized 2"], Describe(Fold(Succeeded("payment-authorized", 2))));
        Assert.Empty(Fold(Succeeded("payment-authorized", 3)));
        Assert.Empty(Fold(Succeeded("fraud-checked", 3)));
        Assert.Empty(Fold(Succeeded("order-expired", 4)));
        Assert.Empty(Fold(Succeeded("stock-reserved", 5)));
    }

    [Fact]
    public void A_step_that_succeeded_before_the_steps_it_runs_after_makes_nothing_known()
    {
        var state = new OrderState { OrderId = OrderId };
        IReadOnlyList<StepTiming> Fold(OperationalEvent e) => state.TimingsKnownBy(Workflow, e, state.Apply(Workflow, e));

        Fold(Succeeded("order-placed", 0));
        Assert.Empty(Fold(Succeeded("shipped", 1)));
        // Stock reserved later by event time: shipped's duration would be negative, so only stock's own is known.
        Assert.Equal(["stock-reserved 3"], Describe(Fold(Succeeded("stock-reserved", 3))));
    }

    private static List<string> Describe(IEnumerable<StepTiming> timings) =>
        [.. timings.Select(t => $"{t.Step} {t.Duration!.Value.TotalSeconds}").Order(StringComparer.Ordinal)];
}
