using System.ComponentModel.DataAnnotations;
using OrderFlow.Domain.Workflow;

namespace OrderFlow.Platform.Workflow;

/// <summary>
/// Section "Sla", the part both apps read: when a clock turns at-risk. Console.Ingest writes each order's at-risk moment
/// with it and Console.Web reads at-risk (and bounds the at-risk search, decision 0023) with the same value, so there is
/// one setting, <c>Sla:AtRiskShare</c>.
/// </summary>
public sealed class AtRiskOptions
{
    public const string Section = "Sla";

    /// <summary>Share of a clock's allowance after which the order is at-risk.</summary>
    [Range(0.01, 0.99)]
    public double AtRiskShare { get; set; } = 0.8;

    /// <summary>
    /// An order at risk has a clock whose at-risk moment has passed; that clock's deadline comes at most
    /// (1 − share) × its allowance later, and the watch time is never later than any running deadline (decision 0013). So
    /// every at-risk order has sla_watch_at ≤ now + this horizon, which the SLA watcher's index finds (decision 0023). The
    /// second added covers the rounding of stored times (ticks to microseconds). The longest allowance of every workflow
    /// version: an in-flight order runs by the version in force when it was placed (decision 0022).
    /// </summary>
    public TimeSpan Horizon(WorkflowVersions versions) =>
        ((1 - AtRiskShare) * versions.All.SelectMany(v => v.Definition.Steps.Select(s => s.Sla).Append(v.Definition.EndToEndSla)).Max()) + TimeSpan.FromSeconds(1);
}
