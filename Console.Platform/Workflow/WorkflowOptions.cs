using Microsoft.Extensions.Options;
using OrderFlow.Domain.Workflow;

namespace OrderFlow.Platform.Workflow;

/// <summary>The order workflow as configuration (section "Workflow", defaults in workflow.json next to the app).</summary>
public sealed class WorkflowOptions
{
    public const string Section = "Workflow";

    public TimeSpan EndToEndSla { get; set; }

    public List<StepOptions> Steps { get; set; } = [];

    public Dictionary<string, OrderStatus> TerminalSteps { get; set; } = [];

    /// <summary>
    /// Compensation step → the workflow step it undoes. Configuration can only add keys to a dictionary, so an empty
    /// value switches a compensation off (Workflow__Compensations__stock-released=).
    /// </summary>
    public Dictionary<string, string> Compensations { get; set; } = [];

    public WorkflowDefinition ToDefinition() =>
        new(Steps.Select(s => new StepDefinition(s.Name, s.After, s.Sla)).ToList(), EndToEndSla, TerminalSteps)
        {
            Compensations = Compensations.Where(c => !string.IsNullOrEmpty(c.Value)).ToDictionary(c => c.Key, c => c.Value),
        };

    public sealed class StepOptions
    {
        public string Name { get; set; } = "";

        public List<string> After { get; set; } = [];

        public TimeSpan Sla { get; set; }
    }
}

/// <summary>Rejects a workflow the domain would not accept, naming the first problem.</summary>
public sealed class WorkflowOptionsValidator : IValidateOptions<WorkflowOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkflowOptions options)
    {
        if (options.Steps.Count == 0)
        {
            return ValidateOptionsResult.Fail("Workflow:Steps is empty (is workflow.json next to the app?)");
        }

        var problems = options.ToDefinition().Validate();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => "Workflow: " + p));
    }
}
