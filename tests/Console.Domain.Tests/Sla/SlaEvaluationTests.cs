using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Sla;
using OrderFlow.Domain.Workflow;
using static OrderFlow.Domain.Tests.OrderEvents;

namespace OrderFlow.Domain.Tests.Sla;

public sealed class SlaEvaluationTests
{
    private static readonly WorkflowDefinition Workflow = WorkflowDefinition.Default;

    [Fact]
    public void A_placed_order_runs_one_clock_per_parallel_step_and_one_end_to_end()
    {
        var order = OrderState.Fold(Workflow, [Succeeded("order-placed", 0)]);

        var clocks = SlaEvaluation.Clocks(order, Workflow);

        Assert.Equal(
            [
                new SlaClock("payment-authorized", T0, T0.AddSeconds(30)),
                new SlaClock("stock-reserved", T0, T0.AddSeconds(30)),
                new SlaClock(SlaClock.EndToEnd, T0, T0.AddMinutes(3)),
            ],
            clocks);
    }

    [Fact]
    public void Clocks_run_for_the_positions_the_caller_hands_in()
    {
        var order = OrderState.Fold(Workflow, [Succeeded("order-placed", 0)]);

        var clocks = SlaEvaluation.Clocks(order, Workflow, ["stock-reserved"]);

        Assert.Equal(
            [
                new SlaClock("stock-reserved", T0, T0.AddSeconds(30)),
                new SlaClock(SlaClock.EndToEnd, T0, T0.AddMinutes(3)),
            ],
            clocks);
    }

    [Fact]
    public void A_step_clock_starts_when_its_last_dependency_succeeded()
    {
        var order = OrderState.Fold(Workflow, [Succeeded("order-placed", 0), Succeeded("payment-authorized", 5), Succeeded("stock-reserved", 10), Succeeded("shipped", 20)]);

        var clock = Assert.Single(SlaEvaluation.Clocks(order, Workflow), c => c.Scope != SlaClock.EndToEnd);

        Assert.Equal(new SlaClock("order-completed", T0.AddSeconds(20), T0.AddSeconds(50)), clock);
    }

    [Theory]
    [InlineData(0, SlaState.OnTrack)]
    [InlineData(23, SlaState.OnTrack)]
    [InlineData(24, SlaState.AtRisk)]
    [InlineData(29, SlaState.AtRisk)]
    [InlineData(30, SlaState.Breached)]
    [InlineData(3600, SlaState.Breached)]
    public void A_clock_turns_at_risk_after_its_share_and_breached_at_its_deadline(int secondsAfterStart, SlaState expected)
    {
        var clock = new SlaClock("payment-authorized", T0, T0.AddSeconds(30));

        Assert.Equal(expected, clock.StateAt(T0.AddSeconds(secondsAfterStart), atRiskShare: 0.8));
    }

    [Fact]
    public void The_order_state_is_its_worst_clock_and_the_next_due_is_the_earliest_deadline()
    {
        var order = OrderState.Fold(Workflow, [Succeeded("order-placed", 0), Succeeded("payment-authorized", 1)]);

        Assert.Equal(SlaState.Breached, SlaEvaluation.StateAt(order, Workflow, T0.AddSeconds(31), 0.8));
        Assert.Equal(new SlaClock("stock-reserved", T0, T0.AddSeconds(30)), SlaEvaluation.NextDue(order, Workflow));
    }

    [Fact]
    public void Past_a_step_deadline_the_step_clock_is_breached_and_the_end_to_end_clock_comes_next()
    {
        var order = OrderState.Fold(Workflow, [Succeeded("order-placed", 0), Succeeded("payment-authorized", 1)]);

        var due = SlaEvaluation.DueBy(order, Workflow, T0.AddSeconds(31));

        Assert.Equal([new SlaClock("stock-reserved", T0, T0.AddSeconds(30))], due.Breached);
        Assert.Equal(new SlaClock(SlaClock.EndToEnd, T0, T0.AddMinutes(3)), due.Next);
    }

    [Fact]
    public void Clocks_that_share_a_deadline_breach_together_and_none_is_next_once_all_have_breached()
    {
        var order = OrderState.Fold(Workflow, [Succeeded("order-placed", 0)]);

        var atTheStepDeadline = SlaEvaluation.DueBy(order, Workflow, T0.AddSeconds(30));
        var muchLater = SlaEvaluation.DueBy(order, Workflow, T0.AddHours(1));

        Assert.Equal(["payment-authorized", "stock-reserved"], atTheStepDeadline.Breached.Select(c => c.Scope));
        Assert.Equal(SlaClock.EndToEnd, atTheStepDeadline.Next?.Scope);
        Assert.Equal(["payment-authorized", "stock-reserved", SlaClock.EndToEnd], muchLater.Breached.Select(c => c.Scope));
        Assert.Null(muchLater.Next);
    }

    [Fact]
    public void A_finished_order_runs_no_clock()
    {
        var order = OrderState.Fold(Workflow, HappyPath());

        Assert.Empty(SlaEvaluation.Clocks(order, Workflow));
        Assert.Null(SlaEvaluation.NextDue(order, Workflow));
        Assert.Equal(SlaState.OnTrack, SlaEvaluation.StateAt(order, Workflow, T0.AddDays(1), 0.8));
        Assert.Empty(SlaEvaluation.DueBy(order, Workflow, T0.AddDays(1)).Breached);
        Assert.Null(SlaEvaluation.DueBy(order, Workflow, T0.AddDays(1)).Next);
    }
}
