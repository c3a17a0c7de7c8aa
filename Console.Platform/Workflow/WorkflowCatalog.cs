using OrderFlow.Domain.Workflow;

namespace OrderFlow.Platform.Workflow;

/// <summary>
/// The workflow versions this app knows, swapped whole when a new version is stored (decision 0022): readers take
/// <see cref="Versions"/> once and use that snapshot. Until the stored versions are loaded it holds the configured
/// definition as version 1.
/// </summary>
public sealed class WorkflowCatalog(WorkflowDefinition configured)
{
    private volatile WorkflowVersions _versions = WorkflowVersions.Single(configured);

    public WorkflowVersions Versions => _versions;

    public WorkflowDefinition Current => _versions.Current.Definition;

    /// <summary>Raised after the versions were replaced.</summary>
    public event Action<WorkflowVersions>? Changed;

    public void Replace(WorkflowVersions versions)
    {
        _versions = versions;
        Changed?.Invoke(versions);
    }
}
