using OrderFlow.Domain.Workflow;

namespace OrderFlow.Domain.Tests.Workflow;

public class WorkflowVersionsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 8, 0, 0, TimeSpan.Zero);
    private static readonly WorkflowDefinition V1 = WorkflowDefinition.Default;
    private static readonly WorkflowDefinition V2 = V1 with { Steps = [.. V1.Steps.Select(s => s.Name == "stock-reserved" ? s with { Sla = TimeSpan.FromSeconds(2) } : s)] };

    private static readonly WorkflowVersions Versions = new([
        new WorkflowVersion(2, V2, T0.AddMinutes(10)),
        new WorkflowVersion(1, V1, T0),
    ]);

    [Fact]
    public void An_order_is_judged_by_the_version_in_force_when_it_was_placed()
    {
        Assert.Equal(1, Versions.At(T0.AddMinutes(10).AddTicks(-1)).Version);
        Assert.Equal(2, Versions.At(T0.AddMinutes(10)).Version);
        Assert.Equal(2, Versions.At(T0.AddDays(1)).Version);
        Assert.Equal(2, Versions.Current.Version);
    }

    [Fact]
    public void An_order_placed_before_any_version_took_effect_gets_the_first()
    {
        Assert.Equal(1, Versions.At(T0.AddYears(-1)).Version);
    }

    [Fact]
    public void A_version_not_loaded_yet_reads_as_the_current_one()
    {
        Assert.Same(V1, Versions.Find(1).Definition);
        Assert.Same(V2, Versions.Find(7).Definition);
    }

    [Fact]
    public void There_is_no_workflow_without_a_version()
    {
        Assert.Throws<ArgumentException>(() => new WorkflowVersions([]));
    }

    [Fact]
    public void Changes_name_steps_added_and_removed_dependencies_and_slas()
    {
        var after = V1 with
        {
            Steps =
            [
                .. V1.Steps.Where(s => s.Name != "shipped").Select(s => s.Name switch
                {
                    "stock-reserved" => s with { Sla = TimeSpan.FromSeconds(2) },
                    "order-completed" => s with { After = ["fraud-checked", "payment-authorized"] },
                    _ => s,
                }),
                new StepDefinition("fraud-checked", ["order-placed"], TimeSpan.FromSeconds(10)),
            ],
            EndToEndSla = TimeSpan.FromMinutes(5),
        };

        Assert.Equal(
            [
                "stock-reserved SLA 00:00:30 → 00:00:02",
                "order-completed runs after fraud-checked, payment-authorized (was shipped, payment-authorized)",
                "added step fraud-checked (after order-placed, SLA 00:00:10)",
                "removed step shipped",
                "end-to-end SLA 00:03:00 → 00:05:00",
            ],
            WorkflowChanges.Between(V1, after));
    }

    [Fact]
    public void Changes_name_terminal_steps_and_compensations_and_none_for_the_same_definition()
    {
        var after = V1 with
        {
            TerminalSteps = new Dictionary<string, OrderStatus>(V1.TerminalSteps) { ["order-expired"] = OrderStatus.Cancelled, ["order-voided"] = OrderStatus.Cancelled },
            Compensations = new Dictionary<string, string> { ["payment-refunded"] = "payment-authorized" },
        };

        Assert.Equal(
            ["terminal step order-expired: Expired → Cancelled", "added terminal step order-voided (Cancelled)", "removed compensation stock-released"],
            WorkflowChanges.Between(V1, after));
        Assert.Empty(WorkflowChanges.Between(V1, V1 with { }));
    }
}
