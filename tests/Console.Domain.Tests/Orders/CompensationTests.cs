using OrderFlow.Domain.Events;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Workflow;
using static OrderFlow.Domain.Tests.OrderEvents;

namespace OrderFlow.Domain.Tests.Orders;

/// <summary>Refunds and stock releases after an order ended without completing, and payments retried after a failure.</summary>
public class CompensationTests
{
    private static readonly WorkflowDefinition Workflow = WorkflowDefinition.Default;

    [Theory]
    [InlineData("order-expired", OrderStatus.Expired)]
    [InlineData("order-cancelled", OrderStatus.Cancelled)]
    public void Compensation_after_an_order_expired_or_was_cancelled_is_expected_and_recorded(string terminal, OrderStatus status)
    {
        var state = Folded(Succeeded("order-placed", 0), Succeeded("payment-authorized", 1), Succeeded("stock-reserved", 2), Succeeded(terminal, 10));

        var refund = state.Apply(Workflow, Succeeded("payment-refunded", 11));
        var release = state.Apply(Workflow, Succeeded("stock-released", 12));

        Assert.Equal(EventFlags.None, refund);
        Assert.Equal(EventFlags.None, release);
        Assert.Equal(status, state.Status);
        Assert.Equal(terminal, state.TerminalStep);
        Assert.Equal(T0.AddSeconds(10), state.TerminalAt);
        Assert.Equal(T0.AddSeconds(11), state.Compensated["payment-authorized"]);
        Assert.Equal(T0.AddSeconds(12), state.Compensated["stock-reserved"]);
        Assert.True(state.HasSucceeded("payment-refunded"));
        Assert.Equal("stock-released", state.LastStep);
        Assert.Equal(T0.AddSeconds(12), state.LastEventAt);
        Assert.Equal(6, state.EventCount);
        Assert.Empty(state.Positions(Workflow));
        Assert.Empty(state.MissingSteps(Workflow));
        Assert.Empty(state.RepeatedSteps());
        Assert.Null(state.OpenFailure());
    }

    [Fact]
    public void A_refund_after_the_order_completed_is_flagged_after_terminal_and_not_applied()
    {
        var state = Folded(HappyPath());

        var flags = state.Apply(Workflow, Succeeded("payment-refunded", 10));

        Assert.Equal(EventFlags.AfterTerminal, flags);
        Assert.Empty(state.Compensated);
        Assert.False(state.Steps.ContainsKey("payment-refunded"));
        Assert.Equal(OrderStatus.Completed, state.Status);
    }

    [Fact]
    public void Compensating_a_step_that_never_succeeded_is_flagged_and_still_recorded()
    {
        var state = Folded(Succeeded("order-placed", 0), Failed("payment-authorized", 1, "card declined"), Succeeded("order-expired", 5));

        var flags = state.Apply(Workflow, Succeeded("payment-refunded", 6));

        Assert.Equal(EventFlags.NothingToCompensate, flags);
        Assert.Equal(T0.AddSeconds(6), state.Compensated["payment-authorized"]);
    }

    [Fact]
    public void A_second_refund_is_flagged_repeated_and_keeps_the_first_compensation_time()
    {
        var state = Folded(Succeeded("order-placed", 0), Succeeded("payment-authorized", 1), Succeeded("order-cancelled", 5), Succeeded("payment-refunded", 6));

        var flags = state.Apply(Workflow, Succeeded("payment-refunded", 8));

        Assert.Equal(EventFlags.Repeated, flags);
        Assert.Equal(T0.AddSeconds(6), state.Compensated["payment-authorized"]);
        Assert.Equal(["payment-refunded"], state.RepeatedSteps());
    }

    [Fact]
    public void A_refund_published_twice_with_the_same_event_id_is_a_duplicate()
    {
        var refund = Succeeded("payment-refunded", 6, NameBasedEventId.For("payment-refunded", OrderId));
        var state = Folded(Succeeded("order-placed", 0), Succeeded("payment-authorized", 1), Succeeded("order-expired", 5), refund);

        Assert.Equal(EventFlags.Duplicate, state.Apply(Workflow, refund with { OccurredAt = T0.AddSeconds(7) }));
        Assert.Equal(1, state.Steps["payment-refunded"].Succeeded);
    }

    [Fact]
    public void A_failed_refund_is_the_open_failure_and_compensates_nothing()
    {
        var state = Folded(Succeeded("order-placed", 0), Succeeded("payment-authorized", 1), Succeeded("order-expired", 5));

        var flags = state.Apply(Workflow, Failed("payment-refunded", 6, "provider unavailable"));

        Assert.Equal(EventFlags.None, flags);
        Assert.Empty(state.Compensated);
        Assert.Equal(("payment-refunded", "provider unavailable"), state.OpenFailure());
    }

    [Fact]
    public void An_expired_order_with_its_compensations_folds_the_same_whatever_order_they_arrive_in()
    {
        OperationalEvent[] events =
        [
            Succeeded("order-placed", 0),
            Succeeded("payment-authorized", 1),
            Succeeded("stock-reserved", 2),
            Succeeded("order-expired", 10),
            Succeeded("payment-refunded", 11),
            Succeeded("stock-released", 12),
        ];
        var expected = Summary(Folded(events));

        foreach (var arrival in Permutations(events))
        {
            Assert.Equal(expected, Summary(Folded(arrival)));
        }

        Assert.Equal("Expired | payment-authorized@11,stock-reserved@12", expected);
    }

    [Fact]
    public void A_payment_that_failed_and_succeeds_on_a_retry_is_a_normal_success_not_a_repeat()
    {
        var state = Folded(Succeeded("order-placed", 0), Succeeded("stock-reserved", 1), Failed("payment-authorized", 2, "invalid payment details"));

        var retried = state.Apply(Workflow, Succeeded("payment-authorized", 30));
        var shipped = state.Apply(Workflow, Succeeded("shipped", 31));
        var completed = state.Apply(Workflow, Succeeded("order-completed", 32));

        Assert.Equal(EventFlags.None, retried);
        Assert.Equal(EventFlags.None, shipped);
        Assert.Equal(EventFlags.None, completed);
        Assert.Equal(OrderStatus.Completed, state.Status);
        Assert.Empty(state.RepeatedSteps());
        Assert.Null(state.OpenFailure());
        Assert.Equal(T0.AddSeconds(30), state.Steps["payment-authorized"].SucceededAt);
        Assert.Equal(1, state.Steps["payment-authorized"].Failed);
    }

    [Fact]
    public void A_retried_payment_that_fails_again_keeps_the_latest_reason_open()
    {
        var state = Folded(Succeeded("order-placed", 0), Failed("payment-authorized", 1, "invalid payment details"));

        var flags = state.Apply(Workflow, Failed("payment-authorized", 30, "card declined after outreach"));

        Assert.Equal(EventFlags.None, flags);
        Assert.Equal(("payment-authorized", "card declined after outreach"), state.OpenFailure());
        Assert.Equal(["payment-authorized", "stock-reserved"], state.Positions(Workflow));
    }

    private static OrderState Folded(params OperationalEvent[] events) => OrderState.Fold(Workflow, events);

    private static string Summary(OrderState state) =>
        $"{state.Status} | {string.Join(',', state.Compensated.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}@{(c.Value - T0).TotalSeconds}"))}";
}
