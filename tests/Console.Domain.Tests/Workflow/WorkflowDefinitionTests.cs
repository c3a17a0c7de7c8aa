using OrderFlow.Domain.Workflow;

namespace OrderFlow.Domain.Tests.Workflow;

public class WorkflowDefinitionTests
{
    private static readonly TimeSpan Sla = TimeSpan.FromSeconds(30);

    [Fact]
    public void The_default_workflow_is_valid()
    {
        Assert.Empty(WorkflowDefinition.Default.Validate());
    }

    [Fact]
    public void The_default_workflow_starts_with_order_placement()
    {
        Assert.Equal("order-placed", WorkflowDefinition.Default.Start.Name);
    }

    [Fact]
    public void The_default_workflow_runs_payment_and_stock_in_parallel_after_placement()
    {
        var workflow = WorkflowDefinition.Default;

        Assert.Equal(["order-placed"], workflow.Find("payment-authorized")!.After);
        Assert.Equal(["order-placed"], workflow.Find("stock-reserved")!.After);
        Assert.Equal(["stock-reserved"], workflow.Find("shipped")!.After);
        Assert.Equal(["shipped", "payment-authorized"], workflow.Find("order-completed")!.After);
    }

    [Theory]
    [InlineData("order-completed", OrderStatus.Completed)]
    [InlineData("order-expired", OrderStatus.Expired)]
    [InlineData("order-cancelled", OrderStatus.Cancelled)]
    public void The_default_workflow_ends_an_order_on_its_terminal_steps(string step, OrderStatus status)
    {
        Assert.Equal(status, WorkflowDefinition.Default.TerminalSteps[step]);
        Assert.True(WorkflowDefinition.Default.IsKnown(step));
    }

    [Fact]
    public void A_step_outside_the_workflow_is_unknown()
    {
        Assert.False(WorkflowDefinition.Default.IsKnown("gift-wrapped"));
        Assert.Null(WorkflowDefinition.Default.Find("gift-wrapped"));
    }

    [Fact]
    public void A_dependency_on_an_unknown_step_is_reported()
    {
        var workflow = Workflow(
            Step("placed"),
            Step("shipped", "packed"),
            Step("completed", "shipped"));

        Assert.Equal(["step 'shipped' runs after unknown step 'packed'"], workflow.Validate());
    }

    [Fact]
    public void A_step_defined_twice_is_reported()
    {
        var workflow = Workflow(
            Step("placed"),
            Step("completed", "placed"),
            Step("completed", "placed"));

        Assert.Equal(["step 'completed' is defined more than once"], workflow.Validate());
    }

    [Fact]
    public void A_cycle_between_steps_is_reported()
    {
        var workflow = Workflow(
            Step("placed"),
            Step("packed", "placed", "shipped"),
            Step("shipped", "packed"),
            Step("completed", "shipped"));

        Assert.Equal(["the step dependencies form a cycle"], workflow.Validate());
    }

    [Fact]
    public void A_step_that_runs_after_itself_is_a_cycle()
    {
        var workflow = Workflow(
            Step("placed"),
            Step("completed", "placed", "completed"));

        Assert.Equal(["the step dependencies form a cycle"], workflow.Validate());
    }

    [Fact]
    public void A_workflow_where_every_step_waits_for_another_has_no_first_step()
    {
        var workflow = Workflow(
            Step("placed", "completed"),
            Step("completed", "placed"));

        Assert.Contains("the workflow needs exactly one first step (a step with no After), found 0", workflow.Validate());
    }

    [Fact]
    public void A_workflow_with_two_first_steps_is_reported()
    {
        var workflow = Workflow(
            Step("placed"),
            Step("imported"),
            Step("completed", "placed", "imported"));

        Assert.Equal(["the workflow needs exactly one first step (a step with no After), found 2"], workflow.Validate());
    }

    [Fact]
    public void Start_refuses_a_workflow_without_exactly_one_first_step()
    {
        var workflow = Workflow(Step("placed"), Step("imported"), Step("completed", "placed"));

        Assert.Throws<InvalidOperationException>(() => workflow.Start);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_step_without_a_positive_sla_is_reported(int seconds)
    {
        var workflow = Workflow(
            Step("placed"),
            new StepDefinition("completed", ["placed"], TimeSpan.FromSeconds(seconds)));

        Assert.Equal(["step 'completed' needs a positive Sla"], workflow.Validate());
    }

    [Fact]
    public void A_non_positive_end_to_end_sla_is_reported()
    {
        var workflow = Workflow(Step("placed"), Step("completed", "placed")) with { EndToEndSla = TimeSpan.Zero };

        Assert.Equal(["EndToEndSla must be positive"], workflow.Validate());
    }

    [Fact]
    public void A_workflow_without_a_completing_terminal_step_is_reported()
    {
        var workflow = Workflow(Step("placed"), Step("completed", "placed")) with
        {
            TerminalSteps = new Dictionary<string, OrderStatus> { ["cancelled"] = OrderStatus.Cancelled },
        };

        Assert.Equal(["one terminal step must mark the order Completed"], workflow.Validate());
    }

    [Fact]
    public void A_step_without_a_name_is_reported()
    {
        var workflow = Workflow(Step("placed"), Step(" ", "placed"), Step("completed", "placed"));

        Assert.Equal(["a step has no name"], workflow.Validate());
    }

    [Fact]
    public void Every_problem_is_reported_not_just_the_first()
    {
        var workflow = Workflow(
            Step("placed"),
            Step("imported"),
            Step("shipped", "packed"),
            new StepDefinition("completed", ["shipped"], TimeSpan.Zero));

        var problems = workflow.Validate();

        Assert.Equal(3, problems.Count);
        Assert.Contains("step 'shipped' runs after unknown step 'packed'", problems);
        Assert.Contains("step 'completed' needs a positive Sla", problems);
        Assert.Contains("the workflow needs exactly one first step (a step with no After), found 2", problems);
    }

    private static StepDefinition Step(string name, params string[] after) => new(name, after, Sla);

    private static WorkflowDefinition Workflow(params StepDefinition[] steps) =>
        new(steps, TimeSpan.FromMinutes(3), new Dictionary<string, OrderStatus> { ["completed"] = OrderStatus.Completed });
}
