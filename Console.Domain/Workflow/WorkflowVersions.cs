namespace OrderFlow.Domain.Workflow;

/// <summary>One stored version of the workflow: from <see cref="EffectiveAt"/> on, new orders are judged by it.</summary>
public sealed record WorkflowVersion(int Version, WorkflowDefinition Definition, DateTimeOffset EffectiveAt)
{
    /// <summary>What changed from the version before, one line each (empty for the first).</summary>
    public IReadOnlyList<string> Changes { get; init; } = [];
}

/// <summary>
/// Every version of the workflow, oldest first (issue 17): an order is judged by the version in force when it was placed,
/// whatever was stored later, so an in-flight order is never breached by an SLA it was not placed under.
/// </summary>
public sealed class WorkflowVersions
{
    private readonly WorkflowVersion[] _versions;

    public WorkflowVersions(IEnumerable<WorkflowVersion> versions)
    {
        _versions = [.. versions.OrderBy(v => v.Version)];
        if (_versions.Length == 0)
        {
            throw new ArgumentException("a workflow needs at least one version", nameof(versions));
        }
    }

    /// <summary>Before any version is stored: the configured definition as version 1.</summary>
    public static WorkflowVersions Single(WorkflowDefinition definition) => new([new WorkflowVersion(1, definition, DateTimeOffset.MinValue)]);

    public IReadOnlyList<WorkflowVersion> All => _versions;

    public WorkflowVersion Current => _versions[^1];

    /// <summary>The version in force at <paramref name="at"/>: the latest that took effect by then; the first for anything earlier.</summary>
    public WorkflowVersion At(DateTimeOffset at)
    {
        for (var i = _versions.Length - 1; i > 0; i--)
        {
            if (_versions[i].EffectiveAt <= at)
            {
                return _versions[i];
            }
        }

        return _versions[0];
    }

    /// <summary>That version; the current one for a version this instance has not loaded (a newer one stored meanwhile).</summary>
    public WorkflowVersion Find(int version)
    {
        foreach (var v in _versions)
        {
            if (v.Version == version)
            {
                return v;
            }
        }

        return Current;
    }
}

/// <summary>What differs between two definitions, in the users' words: steps added or removed, dependencies, SLAs, terminals, compensations.</summary>
public static class WorkflowChanges
{
    public static IReadOnlyList<string> Between(WorkflowDefinition before, WorkflowDefinition after)
    {
        var changes = new List<string>();
        var old = before.Steps.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var now = after.Steps.ToDictionary(s => s.Name, StringComparer.Ordinal);
        foreach (var step in after.Steps)
        {
            if (!old.TryGetValue(step.Name, out var was))
            {
                changes.Add($"added step {step.Name} (after {After(step)}, SLA {step.Sla})");
                continue;
            }

            if (!was.After.Order(StringComparer.Ordinal).SequenceEqual(step.After.Order(StringComparer.Ordinal)))
            {
                changes.Add($"{step.Name} runs after {After(step)} (was {After(was)})");
            }

            if (was.Sla != step.Sla)
            {
                changes.Add($"{step.Name} SLA {was.Sla} → {step.Sla}");
            }
        }

        changes.AddRange(before.Steps.Where(s => !now.ContainsKey(s.Name)).Select(s => $"removed step {s.Name}"));
        if (before.EndToEndSla != after.EndToEndSla)
        {
            changes.Add($"end-to-end SLA {before.EndToEndSla} → {after.EndToEndSla}");
        }

        Compare(changes, "terminal step", before.TerminalSteps.ToDictionary(t => t.Key, t => t.Value.ToString()), after.TerminalSteps.ToDictionary(t => t.Key, t => t.Value.ToString()));
        Compare(changes, "compensation", before.Compensations, after.Compensations);
        return changes;
    }

    private static string After(StepDefinition step) => step.After.Count == 0 ? "nothing" : string.Join(", ", step.After);

    private static void Compare(List<string> changes, string what, IReadOnlyDictionary<string, string> before, IReadOnlyDictionary<string, string> after)
    {
        foreach (var (name, value) in after.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            if (!before.TryGetValue(name, out var was))
            {
                changes.Add($"added {what} {name} ({value})");
            }
            else if (was != value)
            {
                changes.Add($"{what} {name}: {was} → {value}");
            }
        }

        changes.AddRange(before.Keys.Where(k => !after.ContainsKey(k)).Order(StringComparer.Ordinal).Select(k => $"removed {what} {k}"));
    }
}
