using OrderFlow.Domain.Events;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Workflow;
using static OrderFlow.Domain.Tests.OrderEvents;

namespace OrderFlow.Domain.Tests.Orders;

public class OrderStateJsonTests
{
    private static readonly WorkflowDefinition Workflow = WorkflowDefinition.Default;

    [Fact]
    public void A_stored_state_reads_back_with_its_status_steps_and_seen_events()
    {
        var placed = Succeeded("order-placed", 0);
        var state = OrderState.Fold(Workflow, [
            placed,
            Failed("payment-authorized", 1, "card declined"),
            Succeeded("stock-reserved", 2),
            Succeeded("stock-reserved", 3),
            Succeeded("gift-wrapped", 4),
        ]);

        var read = OrderStateJson.Read(OrderStateJson.Write(state));

        Assert.Equal(OrderId, read.OrderId);
        Assert.Equal(OrderStatus.InProgress, read.Status);
        Assert.Equal(T0, read.PlacedAt);
        Assert.Equal(T0, read.FirstEventAt);
        Assert.Equal(T0.AddSeconds(4), read.LastEventAt);
        Assert.Equal("gift-wrapped", read.LastStep);
        Assert.Equal(5, read.EventCount);
        Assert.Equal(["gift-wrapped"], read.UnexpectedSteps);
        Assert.Equal(state.SeenEventIds.Order(), read.SeenEventIds.Order());
        Assert.Equal(state.Steps.Keys.Order(), read.Steps.Keys.Order());
        Assert.Equal(2, read.Steps["stock-reserved"].Succeeded);
        Assert.Equal(T0.AddSeconds(2), read.Steps["stock-reserved"].SucceededAt);
        Assert.Equal(1, read.Steps["payment-authorized"].Failed);
        Assert.Equal(T0.AddSeconds(1), read.Steps["payment-authorized"].LastFailedAt);
        Assert.Equal(("payment-authorized", "card declined"), read.OpenFailure());
        Assert.Equal(["stock-reserved"], read.RepeatedSteps());
        Assert.Equal(state.Positions(Workflow), read.Positions(Workflow));
    }

    [Fact]
    public void A_terminal_state_reads_back_terminal()
    {
        var state = OrderState.Fold(Workflow, HappyPath());

        var read = OrderStateJson.Read(OrderStateJson.Write(state));

        Assert.Equal(OrderStatus.Completed, read.Status);
        Assert.True(read.IsTerminal);
        Assert.Equal("order-completed", read.TerminalStep);
        Assert.Equal(T0.AddSeconds(4), read.TerminalAt);
        Assert.Equal(EventFlags.AfterTerminal, read.Apply(Workflow, Succeeded("order-cancelled", 9)));
    }

    [Fact]
    public void The_status_is_stored_by_name()
    {
        var json = OrderStateJson.Write(OrderState.Fold(Workflow, HappyPath()));

        Assert.Contains("\"status\":\"Completed\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void The_fold_resumes_from_a_stored_state_exactly_as_if_it_had_never_stopped()
    {
        var placed = Succeeded("order-placed", 0);
        var payment = Succeeded("payment-authorized", 1);
        var uninterrupted = OrderState.Fold(Workflow, [placed, payment]);
        var resumed = OrderStateJson.Read(OrderStateJson.Write(uninterrupted));
        OperationalEvent[] rest =
        [
            payment,
            Succeeded("shipped", 3),
            Succeeded("stock-reserved", 2),
            Succeeded("shipped", 4),
            Succeeded("order-completed", 5),
            placed,
        ];

        var uninterruptedFlags = rest.Select(e => uninterrupted.Apply(Workflow, e)).ToList();
        var resumedFlags = rest.Select(e => resumed.Apply(Workflow, e)).ToList();

        Assert.Equal(EventFlags.Duplicate, resumedFlags[0]);
        Assert.Equal(EventFlags.Duplicate, resumedFlags[^1]);
        Assert.Equal(uninterruptedFlags, resumedFlags);
        Assert.Equal(OrderStateJson.Write(uninterrupted), OrderStateJson.Write(resumed));
    }

    [Fact]
    public void Reading_a_null_document_is_refused()
    {
        Assert.Throws<System.Text.Json.JsonException>(() => OrderStateJson.Read("null"));
    }
}
