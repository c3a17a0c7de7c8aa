using OrderFlow.Domain.Events;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Workflow;
using static OrderFlow.Domain.Tests.OrderEvents;

namespace OrderFlow.Domain.Tests.Orders;

public class OrderStateTests
{
    private static readonly WorkflowDefinition Workflow = WorkflowDefinition.Default;

    [Fact]
    public void The_happy_path_completes_the_order_and_leaves_it_waiting_for_nothing()
    {
        var state = NewOrder();

        var flags = HappyPath().Select(e => state.Apply(Workflow, e)).ToList();

        Assert.All(flags, f => Assert.Equal(EventFlags.None, f));
        Assert.Equal(OrderStatus.Completed, state.Status);
        Assert.True(state.IsTerminal);
        Assert.Equal("order-completed", state.TerminalStep);
        Assert.Equal(T0.AddSeconds(4), state.TerminalAt);
        Assert.Equal(T0, state.PlacedAt);
        Assert.Equal(T0, state.FirstEventAt);
        Assert.Equal(T0.AddSeconds(4), state.LastEventAt);
        Assert.Equal("order-completed", state.LastStep);
        Assert.Equal(5, state.EventCount);
        Assert.Empty(state.Positions(Workflow));
        Assert.Empty(state.MissingSteps(Workflow));
        Assert.Empty(state.RepeatedSteps());
        Assert.Null(state.OpenFailure());
        Assert.All(Workflow.Steps, s => Assert.True(state.HasSucceeded(s.Name), s.Name));
    }

    [Fact]
    public void Fold_starts_the_order_from_its_first_event()
    {
        var state = OrderState.Fold(Workflow, HappyPath());

        Assert.Equal(OrderId, state.OrderId);
        Assert.Equal(OrderStatus.Completed, state.Status);
    }

    [Fact]
    public void Fold_refuses_an_order_with_no_events()
    {
        Assert.Throws<ArgumentException>(() => OrderState.Fold(Workflow, []));
    }

    [Fact]
    public void An_event_of_another_order_is_refused_loudly()
    {
        var state = NewOrder();
        var other = Succeeded("order-placed", 0) with { OrderId = "order-2" };

        Assert.Throws<ArgumentException>(() => state.Apply(Workflow, other));
        Assert.Equal(0, state.EventCount);
    }

    [Fact]
    public void A_new_order_waits_on_its_first_step()
    {
        var state = NewOrder();

        Assert.Equal(["order-placed"], state.Positions(Workflow));
        Assert.Equal(OrderStatus.InProgress, state.Status);
    }

    [Fact]
    public void After_placement_the_order_waits_on_payment_and_stock_at_once()
    {
        var state = Folded(Succeeded("order-placed", 0));

        Assert.Equal(["payment-authorized", "stock-reserved"], state.Positions(Workflow));
    }

    [Fact]
    public void Once_stock_is_reserved_the_order_waits_on_payment_and_shipping_at_once()
    {
        var state = Folded(Succeeded("order-placed", 0), Succeeded("stock-reserved", 1));

        Assert.Equal(["payment-authorized", "shipped"], state.Positions(Workflow));
    }

    [Fact]
    public void Completion_waits_for_both_branches()
    {
        var state = Folded(Succeeded("order-placed", 0), Succeeded("stock-reserved", 1), Succeeded("shipped", 2));

        Assert.Equal(["payment-authorized"], state.Positions(Workflow));
    }

    [Fact]
    public void A_duplicate_event_id_is_flagged_and_changes_nothing()
    {
        var placed = Succeeded("order-placed", 0);
        var payment = Succeeded("payment-authorized", 1);
        var state = Folded(placed, payment);
        var before = System.Text.Json.JsonSerializer.Serialize(state);

        var flags = state.Apply(Workflow, payment);

        Assert.Equal(EventFlags.Duplicate, flags);
        Assert.Equal(2, state.EventCount);
        Assert.Equal(1, state.Steps["payment-authorized"].Succeeded);
        Assert.Equal(before, System.Text.Json.JsonSerializer.Serialize(state));
    }

    [Fact]
    public void A_duplicate_is_recognised_by_its_event_id_even_if_its_content_differs()
    {
        var state = Folded(Succeeded("order-placed", 0, Id(900)));

        var flags = state.Apply(Workflow, Failed("payment-authorized", 5, "card declined", Id(900)));

        Assert.Equal(EventFlags.Duplicate, flags);
        Assert.False(state.Steps.ContainsKey("payment-authorized"));
        Assert.Null(state.OpenFailure());
    }

    [Fact]
    public void An_event_older_than_one_already_applied_is_flagged_late_but_still_applied()
    {
        var state = Folded(Succeeded("order-placed", 0), Succeeded("payment-authorized", 5));

        var flags = state.Apply(Workflow, Succeeded("stock-reserved", 2));

        Assert.Equal(EventFlags.Late, flags);
        Assert.True(state.HasSucceeded("stock-reserved"));
        Assert.Equal(T0.AddSeconds(5), state.LastEventAt);
        Assert.Equal(3, state.EventCount);
    }

    [Fact]
    public void An_event_at_the_same_instant_as_the_last_one_is_not_late()
    {
        var state = Folded(Succeeded("order-placed", 0), Succeeded("payment-authorized", 1));

        Assert.Equal(EventFlags.None, state.Apply(Workflow, Succeeded("stock-reserved", 1)));
    }

    [Fact]
    public void An_event_after_the_order_completed_is_flagged_and_does_not_change_its_outcome()
    {
        var state = Folded(HappyPath());

        var flags = state.Apply(Workflow, Succeeded("order-cancelled", 10));

        Assert.Equal(EventFlags.AfterTerminal, flags);
        Assert.Equal(OrderStatus.Completed, state.Status);
        Assert.Equal("order-completed", state.TerminalStep);
        Assert.Equal(T0.AddSeconds(4), state.TerminalAt);
        Assert.Equal(T0.AddSeconds(4), state.LastEventAt);
        Assert.Equal("order-completed", state.LastStep);
        Assert.Equal(6, state.EventCount);
    }

    [Fact]
    public void A_failure_after_the_order_completed_does_not_reopen_it()
    {
        var state = Folded(HappyPath());

        var flags = state.Apply(Workflow, Failed("payment-authorized", 10, "chargeback"));

        Assert.Equal(EventFlags.AfterTerminal, flags);
        Assert.Equal(0, state.Steps["payment-authorized"].Failed);
        Assert.Null(state.OpenFailure());
    }

    [Theory]
    [InlineData("order-cancelled", OrderStatus.Cancelled)]
    [InlineData("order-expired", OrderStatus.Expired)]
    public void A_terminal_step_ends_the_order_with_its_outcome(string step, OrderStatus status)
    {
        var state = Folded(Succeeded("order-placed", 0), Succeeded("payment-authorized", 1));

        var flags = state.Apply(Workflow, Succeeded(step, 2));

        Assert.Equal(EventFlags.None, flags);
        Assert.Equal(status, state.Status);
        Assert.Equal(step, state.TerminalStep);
        Assert.Equal(T0.AddSeconds(2), state.TerminalAt);
        Assert.Empty(state.Positions(Workflow));
    }

    [Fact]
    public void A_failed_terminal_step_does_not_end_the_order()
    {
        var state = Folded(Succeeded("order-placed", 0));

        state.Apply(Workflow, Failed("order-cancelled", 1, "cancellation window closed"));

        Assert.Equal(OrderStatus.InProgress, state.Status);
        Assert.Null(state.TerminalStep);
    }

    [Fact]
    public void A_step_outside_the_workflow_is_flagged_and_listed_once()
    {
        var state = Folded(Succeeded("order-placed", 0));

        var first = state.Apply(Workflow, Succeeded("gift-wrapped", 1));
        var second = state.Apply(Workflow, Succeeded("gift-wrapped", 2));

        Assert.Equal(EventFlags.UnplannedStep, first);
        Assert.Equal(EventFlags.UnplannedStep, second);
        Assert.Equal(["gift-wrapped"], state.UnexpectedSteps);
        Assert.False(state.Steps.ContainsKey("gift-wrapped"));
        Assert.Equal(["payment-authorized", "stock-reserved"], state.Positions(Workflow));
        Assert.Equal(3, state.EventCount);
    }

    [Fact]
    public void An_unplanned_step_first_or_after_the_end_moves_neither_placement_status_nor_the_list()
    {
        var state = NewOrder();

        Assert.Equal(EventFlags.UnplannedStep, state.Apply(Workflow, Succeeded("fraud-checked", 0)));

        Assert.Null(state.PlacedAt);
        Assert.Equal(OrderStatus.InProgress, state.Status);
        Assert.Equal(["order-placed"], state.Positions(Workflow));
        Assert.Equal("fraud-checked", state.LastStep);
        foreach (var e in HappyPath())
        {
            state.Apply(Workflow, e);
        }

        Assert.Equal(EventFlags.UnplannedStep | EventFlags.AfterTerminal, state.Apply(Workflow, Succeeded("gift-wrapped", 60)));
        Assert.Equal(OrderStatus.Completed, state.Status);
        Assert.Equal(["fraud-checked"], state.UnexpectedSteps);
    }

    [Fact]
    public void A_step_that_succeeds_again_is_flagged_repeated_and_keeps_its_first_success_time()
    {
        var state = Folded(Succeeded("order-placed", 0), Succeeded("stock-reserved", 1));

        var flags = state.Apply(Workflow, Succeeded("stock-reserved", 3));

        Assert.Equal(EventFlags.Repeated, flags);
        Assert.Equal(["stock-reserved"], state.RepeatedSteps());
        Assert.Equal(2, state.Steps["stock-reserved"].Succeeded);
        Assert.Equal(T0.AddSeconds(1), state.Steps["stock-reserved"].SucceededAt);
    }

    [Fact]
    public void Shipping_before_stock_is_reserved_is_flagged_and_stock_is_reported_missing()
    {
        var state = Folded(Succeeded("order-placed", 0), Succeeded("payment-authorized", 1));

        var flags = state.Apply(Workflow, Succeeded("shipped", 2));

        Assert.Equal(EventFlags.SkippedDependencies, flags);
        Assert.True(state.HasSucceeded("shipped"));
        Assert.Equal(["stock-reserved"], state.MissingSteps(Workflow));
    }

    [Fact]
    public void Completion_with_nothing_before_it_reports_every_earlier_step_missing()
    {
        var state = NewOrder();

        var flags = state.Apply(Workflow, Succeeded("order-completed", 0));

        Assert.Equal(EventFlags.SkippedDependencies, flags);
        Assert.Equal(OrderStatus.Completed, state.Status);
        Assert.Equal(["order-placed", "payment-authorized", "stock-reserved", "shipped"], state.MissingSteps(Workflow));
    }

    [Fact]
    public void A_late_event_can_carry_several_flags_at_once()
    {
        var state = Folded(Succeeded("order-placed", 0), Succeeded("payment-authorized", 5));

        var flags = state.Apply(Workflow, Succeeded("shipped", 3));

        Assert.Equal(EventFlags.Late | EventFlags.SkippedDependencies, flags);
    }

    [Fact]
    public void A_payment_failure_is_the_open_failure_until_the_payment_succeeds()
    {
        var state = Folded(Succeeded("order-placed", 0));

        state.Apply(Workflow, Failed("payment-authorized", 1, "card declined"));
        var open = state.OpenFailure();
        state.Apply(Workflow, Succeeded("payment-authorized", 2));

        Assert.Equal(("payment-authorized", "card declined"), open);
        Assert.Null(state.OpenFailure());
        Assert.Equal(1, state.Steps["payment-authorized"].Failed);
        Assert.Equal(T0.AddSeconds(1), state.Steps["payment-authorized"].LastFailedAt);
    }

    [Fact]
    public void The_open_failure_is_the_most_recent_unresolved_one()
    {
        var state = Folded(
            Succeeded("order-placed", 0),
            Failed("payment-authorized", 1, "card declined"),
            Failed("stock-reserved", 2, "out of stock"),
            Failed("payment-authorized", 3, "insufficient funds"));

        Assert.Equal(("payment-authorized", "insufficient funds"), state.OpenFailure());

        state.Apply(Workflow, Succeeded("payment-authorized", 4));

        Assert.Equal(("stock-reserved", "out of stock"), state.OpenFailure());
    }

    [Fact]
    public void A_failed_step_stays_a_position_of_the_order()
    {
        var state = Folded(Succeeded("order-placed", 0), Failed("payment-authorized", 1, "card declined"));

        Assert.Equal(["payment-authorized", "stock-reserved"], state.Positions(Workflow));
    }

    [Fact]
    public void A_step_is_ready_since_the_latest_success_among_its_dependencies()
    {
        var state = Folded(
            Succeeded("order-placed", 0),
            Succeeded("stock-reserved", 1),
            Succeeded("shipped", 2),
            Succeeded("payment-authorized", 7));

        Assert.Equal(T0.AddSeconds(7), state.ReadySince(Workflow, "order-completed"));
        Assert.Equal(T0.AddSeconds(1), state.ReadySince(Workflow, "shipped"));
        Assert.Equal(T0, state.ReadySince(Workflow, "payment-authorized"));
    }

    [Fact]
    public void A_step_whose_dependencies_have_not_all_succeeded_is_not_ready()
    {
        var state = Folded(Succeeded("order-placed", 0), Succeeded("payment-authorized", 1));

        Assert.Null(state.ReadySince(Workflow, "shipped"));
        Assert.Null(state.ReadySince(Workflow, "order-completed"));
    }

    [Fact]
    public void The_first_step_is_ready_since_the_orders_first_event()
    {
        var state = Folded(Succeeded("order-placed", 3));

        Assert.Equal(T0.AddSeconds(3), state.ReadySince(Workflow, "order-placed"));
    }

    [Fact]
    public void A_step_outside_the_workflow_is_never_ready()
    {
        var state = Folded(HappyPath());

        Assert.Null(state.ReadySince(Workflow, "gift-wrapped"));
        Assert.Null(state.ReadySince(Workflow, "order-expired"));
    }

    private static OrderState NewOrder() => new() { OrderId = OrderId };

    private static OrderState Folded(params OperationalEvent[] events)
    {
        var state = NewOrder();
        foreach (var e in events)
        {
            state.Apply(Workflow, e);
        }

        return state;
    }
}
