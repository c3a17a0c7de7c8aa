using System.ComponentModel.DataAnnotations;

namespace OrderFlow.Web.Bulk;

/// <summary>Section "Bulk": how fast bulk jobs go and how large they may be (decision 0021).</summary>
public sealed class BulkOptions : IValidatableObject
{
    public const string Section = "Bulk";

    /// <summary>Records per second a job runs at unless its request names a rate.</summary>
    [Range(1, 1000)]
    public int DefaultRate { get; set; } = 50;

    /// <summary>The highest rate a request may ask for.</summary>
    [Range(1, 1000)]
    public int MaxRate { get; set; } = 200;

    /// <summary>The most dead letters one job may select.</summary>
    [Range(1, 1_000_000)]
    public int MaxRecords { get; set; } = 100_000;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (DefaultRate > MaxRate)
        {
            yield return new ValidationResult($"Bulk:DefaultRate ({DefaultRate}) is above Bulk:MaxRate ({MaxRate}): lower the default or raise the maximum");
        }
    }
}
