namespace OrderFlow.Domain.Workflow;

public enum OrderStatus
{
    InProgress,
    Completed,
    Expired,
    Cancelled,
}

/// <summary>One step of the choreography: which steps must finish before it, and how long it may take once it can start.</summary>
public sealed record StepDefinition(string Name, IReadOnlyList<string> After, TimeSpan Sla);

/// <summary>
/// A step name the workflow knows, and what it is: a workflow step (its definition), a compensation (the step it undoes),
/// a terminal step (the status it ends the order with), or several of these. Name is the workflow's own string instance,
/// so orders folded from many events share it.
/// </summary>
public sealed record StepRole(string Name, StepDefinition? Definition, string? Compensates, OrderStatus? Terminal);

/// <summary>The order workflow, read from configuration. Validate() says what is wrong with it in one line.</summary>
public sealed record WorkflowDefinition(
    IReadOnlyList<StepDefinition> Steps,
    TimeSpan EndToEndSla,
    IReadOnlyDictionary<string, OrderStatus> TerminalSteps)
{
    /// <summary>
    /// Compensation steps and the workflow step each one undoes (payment-refunded → payment-authorized). They are
    /// expected after an order expired or was cancelled, and are not part of the order's path.
    /// </summary>
    public IReadOnlyDictionary<string, string> Compensations { get; init; } = new Dictionary<string, string>();

    // The fold looks steps up several times per event: by name through a dictionary built once per definition.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<WorkflowDefinition, NameIndex> Indexes = [];

    public StepDefinition? Find(string step) => Role(step)?.Definition;

    public bool IsKnown(string step) => Role(step) is not null;

    /// <summary>All the workflow says about a step name, with one lookup; null for a step it does not know.</summary>
    public StepRole? Role(string step) => Index.Roles.GetValueOrDefault(step);

    private NameIndex Index => Indexes.GetValue(this, static w => new NameIndex(w));

    private sealed class NameIndex
    {
        public NameIndex(WorkflowDefinition workflow)
        {
            foreach (var name in workflow.Steps.Select(s => s.Name).Concat(workflow.TerminalSteps.Keys).Concat(workflow.Compensations.Keys))
            {
                Roles.TryAdd(name, new StepRole(
                    name,
                    workflow.Steps.FirstOrDefault(s => s.Name == name),
                    workflow.Compensations.TryGetValue(name, out var compensated) ? compensated : null,
                    workflow.TerminalSteps.TryGetValue(name, out var terminal) ? terminal : null));
            }
        }

        public Dictionary<string, StepRole> Roles { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>The workflow step a compensation step undoes, or null when the step is not a compensation.</summary>
    public string? Compensates(string step) => Role(step)?.Compensates;

    public IEnumerable<string> StepNames => Steps.Select(s => s.Name).Concat(TerminalSteps.Keys).Concat(Compensations.Keys).Distinct();

    public StepDefinition Start => Steps.Single(s => s.After.Count == 0);

    /// <summary>The default e-commerce flow: payment and stock in parallel after placement, shipping after stock, completion after both.</summary>
    public static WorkflowDefinition Default { get; } = new(
        [
            new("order-placed", [], TimeSpan.FromSeconds(5)),
            new("payment-authorized", ["order-placed"], TimeSpan.FromSeconds(30)),
            new("stock-reserved", ["order-placed"], TimeSpan.FromSeconds(30)),
            new("shipped", ["stock-reserved"], TimeSpan.FromSeconds(60)),
            new("order-completed", ["shipped", "payment-authorized"], TimeSpan.FromSeconds(30)),
        ],
        TimeSpan.FromMinutes(3),
        new Dictionary<string, OrderStatus>
        {
            ["order-completed"] = OrderStatus.Completed,
            ["order-expired"] = OrderStatus.Expired,
            ["order-cancelled"] = OrderStatus.Cancelled,
        })
    {
        Compensations = new Dictionary<string, string>
        {
            ["payment-refunded"] = "payment-authorized",
            ["stock-released"] = "stock-reserved",
        },
    };

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        var names = Steps.Select(s => s.Name).ToList();
        foreach (var duplicate in names.GroupBy(n => n).Where(g => g.Count() > 1))
        {
            problems.Add($"step '{duplicate.Key}' is defined more than once");
        }

        foreach (var step in Steps)
        {
            if (string.IsNullOrWhiteSpace(step.Name))
            {
                problems.Add("a step has no name");
            }

            if (step.Sla <= TimeSpan.Zero)
            {
                problems.Add($"step '{step.Name}' needs a positive Sla");
            }

            foreach (var dependency in step.After.Where(d => !names.Contains(d)))
            {
                problems.Add($"step '{step.Name}' runs after unknown step '{dependency}'");
            }
        }

        var starts = Steps.Count(s => s.After.Count == 0);
        if (starts != 1)
        {
            problems.Add($"the workflow needs exactly one first step (a step with no After), found {starts}");
        }

        if (EndToEndSla <= TimeSpan.Zero)
        {
            problems.Add("EndToEndSla must be positive");
        }

        if (!TerminalSteps.Values.Contains(OrderStatus.Completed))
        {
            problems.Add("one terminal step must mark the order Completed");
        }

        foreach (var (compensation, compensated) in Compensations)
        {
            if (string.IsNullOrWhiteSpace(compensation))
            {
                problems.Add("a compensation step has no name");
            }
            else if (names.Contains(compensation) || TerminalSteps.ContainsKey(compensation))
            {
                problems.Add($"compensation step '{compensation}' is already a workflow or terminal step");
            }

            if (!names.Contains(compensated))
            {
                problems.Add($"compensation step '{compensation}' compensates unknown step '{compensated}'");
            }
        }

        if (problems.Count == 0 && HasCycle())
        {
            problems.Add("the step dependencies form a cycle");
        }

        return problems;
    }

    private bool HasCycle()
    {
        var done = new HashSet<string>();
        var remaining = Steps.ToList();
        while (remaining.Count > 0)
        {
            var ready = remaining.Where(s => s.After.All(done.Contains)).ToList();
            if (ready.Count == 0)
            {
                return true;
            }

            foreach (var step in ready)
            {
                done.Add(step.Name);
                remaining.Remove(step);
            }
        }

        return false;
    }
}
