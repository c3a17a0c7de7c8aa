using OrderFlow.Domain.Workflow;

namespace OrderFlow.Domain.Tests.Workflow;

public class CompensationDefinitionTests
{
    private static readonly TimeSpan Sla = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("payment-refunded", "payment-authorized")]
    [InlineData("stock-released", "stock-reserved")]
    public void The_default_workflow_knows_its_compensation_steps(string compensation, string compensated)
    {
        var workflow = WorkflowDefinition.Default;

        Assert.True(workflow.IsKnown(compensation));
        Assert.Equal(compensated, workflow.Compensates(compensation));
        Assert.Null(workflow.Find(compensation));
        Assert.Contains(compensation, workflow.StepNames);
    }

    [Fact]
    public void A_workflow_step_compensates_nothing()
    {
        Assert.Null(WorkflowDefinition.Default.Compensates("payment-authorized"));
        Assert.Null(WorkflowDefinition.Default.Compensates("order-expired"));
    }

    [Fact]
    public void A_compensation_of_an_unknown_step_is_reported()
    {
        var workflow = Simple() with { Compensations = new Dictionary<string, string> { ["refunded"] = "paid" } };

        Assert.Equal(["compensation step 'refunded' compensates unknown step 'paid'"], workflow.Validate());
    }

    [Fact]
    public void A_terminal_step_that_is_not_a_workflow_step_cannot_be_compensated()
    {
        var workflow = Simple() with { Compensations = new Dictionary<string, string> { ["reopened"] = "cancelled" } };

        Assert.Equal(["compensation step 'reopened' compensates unknown step 'cancelled'"], workflow.Validate());
    }

    [Theory]
    [InlineData("placed")]
    [InlineData("completed")]
    [InlineData("cancelled")]
    public void A_compensation_step_named_like_a_workflow_or_terminal_step_is_reported(string name)
    {
        var workflow = Simple() with { Compensations = new Dictionary<string, string> { [name] = "placed" } };

        Assert.Equal([$"compensation step '{name}' is already a workflow or terminal step"], workflow.Validate());
    }

    [Fact]
    public void A_compensation_step_without_a_name_is_reported()
    {
        var workflow = Simple() with { Compensations = new Dictionary<string, string> { [" "] = "placed" } };

        Assert.Equal(["a compensation step has no name"], workflow.Validate());
    }

    [Fact]
    public void A_workflow_without_compensations_is_valid_and_knows_none()
    {
        var workflow = Simple();

        Assert.Empty(workflow.Validate());
        Assert.Empty(workflow.Compensations);
        Assert.False(workflow.IsKnown("payment-refunded"));
    }

    private static WorkflowDefinition Simple() =>
        new(
            [new("placed", [], Sla), new("completed", ["placed"], Sla)],
            TimeSpan.FromMinutes(3),
            new Dictionary<string, OrderStatus> { ["completed"] = OrderStatus.Completed, ["cancelled"] = OrderStatus.Cancelled });
}
