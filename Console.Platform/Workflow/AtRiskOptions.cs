using System.ComponentModel.DataAnnotations;

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
}
