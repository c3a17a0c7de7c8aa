using Microsoft.Extensions.Options;
using OrderFlow.Domain.Workflow;

namespace OrderFlow.Platform.Workflow;

/// <summary>The order workflow as configuration (section "Workflow", defaults in workflow.json next to the app).</summary>
public sealed class WorkflowOptions
{
    public const string Section = "Workflow";

    /// <summary>
    /// The workflow file (relative to the app's folder, or absolute): a configuration source Console.Ingest watches, so a
    /// change to it is validated and stored as a new version without a restart (decision 0022).
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string File { get; set; } = "workflow.json";

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

    /// <summary>The definition in this shape (the workflow file's), dictionaries in name order, as stored with each version.</summary>
    public static WorkflowOptions From(WorkflowDefinition definition) => new()
    {
        EndToEndSla = definition.EndToEndSla,
        Steps = [.. definition.Steps.Select(s => new StepOptions { Name = s.Name, After = [.. s.After], Sla = s.Sla })],
        TerminalSteps = definition.TerminalSteps.OrderBy(t => t.Key, StringComparer.Ordinal).ToDictionary(t => t.Key, t => t.Value),
        Compensations = definition.Compensations.OrderBy(c => c.Key, StringComparer.Ordinal).ToDictionary(c => c.Key, c => c.Value),
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
