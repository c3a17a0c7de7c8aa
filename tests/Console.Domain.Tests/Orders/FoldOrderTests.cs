using OrderFlow.Domain.Events;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Workflow;
using static OrderFlow.Domain.Tests.OrderEvents;

namespace OrderFlow.Domain.Tests.Orders;

/// <summary>Services publish independently, so events of one order arrive in any order; the fold must not care.</summary>
public class FoldOrderTests
{
    private static readonly WorkflowDefinition Workflow = WorkflowDefinition.Default;

    [Fact]
    public void An_order_in_progress_folds_to_the_same_state_whatever_order_its_events_arrive_in()
    {
        OperationalEvent[] events =
        [
            Succeeded("order-placed", 0),
            Failed("payment-authorized", 1, "card declined"),
            Succeeded("stock-reserved", 2),
            Succeeded("payment-authorized", 3),
            Succeeded("shipped", 4),
            Succeeded("gift-wrapped", 5),
        ];
        var expected = Summary(OrderState.Fold(Workflow, events));

        AssertSameStateInEveryArrivalOrder(events, expected);
        Assert.Equal("InProgress | order-placed,payment-authorized,shipped,stock-reserved | order-completed", expected);
    }

    [Fact]
    public void A_completed_order_folds_to_the_same_state_whatever_order_its_events_arrive_in()
    {
        var events = HappyPath();
        var expected = Summary(OrderState.Fold(Workflow, events));

        AssertSameStateInEveryArrivalOrder(events, expected);
        Assert.Equal("Completed | order-completed,order-placed,payment-authorized,shipped,stock-reserved | ", expected);
    }

    [Fact]
    public void A_step_that_happened_before_completion_counts_even_when_it_arrives_after_completion()
    {
        var state = OrderState.Fold(Workflow, [
            Succeeded("order-placed", 0),
            Succeeded("payment-authorized", 1),
            Succeeded("stock-reserved", 2),
            Succeeded("order-completed", 4),
        ]);

        state.Apply(Workflow, Succeeded("shipped", 3));

        Assert.Equal(OrderStatus.Completed, state.Status);
        Assert.True(state.HasSucceeded("shipped"), "shipped happened before the order completed");
        Assert.Empty(state.MissingSteps(Workflow));
    }

    /// <summary>Status, succeeded steps and positions: what an operator sees of the order.</summary>
    private static string Summary(OrderState state) =>
        $"{state.Status} | {string.Join(',', state.Steps.Where(s => s.Value.Succeeded > 0).Select(s => s.Key).Order(StringComparer.Ordinal))} | {string.Join(',', state.Positions(Workflow))}";

    private static void AssertSameStateInEveryArrivalOrder(OperationalEvent[] events, string expected)
    {
        var differences = new List<string>();
        var orders = 0;
        foreach (var arrival in Permutations(events))
        {
            orders++;
            var actual = Summary(OrderState.Fold(Workflow, arrival));
            if (actual != expected)
            {
                var order = string.Join(" > ", arrival.Select(e => $"{e.Step}@{(e.OccurredAt - T0).TotalSeconds}s"));
                differences.Add($"{order}: {actual}");
            }
        }

        Assert.True(
            differences.Count == 0,
            $"{differences.Count} of {orders} arrival orders fold differently from \"{expected}\", e.g.\n{string.Join('\n', differences.Take(3))}");
    }
}
