using Microsoft.Extensions.Configuration;
using OrderFlow.Domain.Events;
using OrderFlow.Domain.Workflow;
using OrderFlow.Ingest.Sla;
using OrderFlow.Platform.Workflow;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Workflow;

public sealed class WorkflowFileTests
{
    [Fact]
    public void Workflow_json_describes_the_same_workflow_as_the_domain_default_compensations_included()
    {
        var options = Read(new ConfigurationBuilder().AddJsonFile(Path.Combine(AppProcess.RepositoryRoot(), "Console.Platform", "workflow.json")));
        var definition = options.ToDefinition();
        var expected = WorkflowDefinition.Default;

        Assert.Empty(definition.Validate());
        Assert.Equal(expected.Steps.Select(s => (s.Name, string.Join(',', s.After), s.Sla)), definition.Steps.Select(s => (s.Name, string.Join(',', s.After), s.Sla)));
        Assert.Equal(expected.EndToEndSla, definition.EndToEndSla);
        Assert.Equal(expected.TerminalSteps.OrderBy(t => t.Key), definition.TerminalSteps.OrderBy(t => t.Key));
        Assert.Equal(expected.Compensations.OrderBy(c => c.Key), definition.Compensations.OrderBy(c => c.Key));
    }

    [Fact]
    public void An_empty_value_switches_a_compensation_off()
    {
        var options = Read(new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppProcess.RepositoryRoot(), "Console.Platform", "workflow.json"))
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Workflow:Compensations:stock-released"] = "" }));

        var definition = options.ToDefinition();

        Assert.Equal(["payment-refunded"], definition.Compensations.Keys);
        Assert.False(definition.IsKnown("stock-released"));
    }

    [Fact]
    public void A_compensation_of_an_unknown_step_is_refused_with_one_line()
    {
        var options = Read(new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppProcess.RepositoryRoot(), "Console.Platform", "workflow.json"))
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Workflow:Compensations:voucher-revoked"] = "voucher-issued" }));

        var result = new WorkflowOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Equal(["Workflow: compensation step 'voucher-revoked' compensates unknown step 'voucher-issued'"], result.Failures);
    }

    [Theory]
    [InlineData("ORD-1")]
    [InlineData("ORD-EXP")]
    [InlineData("order with spaces and ünïcode")]
    public void The_name_based_expiry_id_is_the_one_the_sla_watcher_publishes(string orderId)
    {
        Assert.Equal(OrderFlow.Domain.Sla.SlaExpiry.EventId(orderId), NameBasedEventId.For("order-expired", orderId));
    }

    private static WorkflowOptions Read(IConfigurationBuilder builder) =>
        builder.Build().GetSection(WorkflowOptions.Section).Get<WorkflowOptions>() ?? throw new InvalidOperationException("no Workflow section");
}
