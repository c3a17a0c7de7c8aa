namespace OrderFlow.Web.Actions;

/// <summary>Section "Actions": where a replay sends a dead letter's record and whose consumer group it waits on.</summary>
public sealed class ActionOptions : System.ComponentModel.DataAnnotations.IValidatableObject
{
    public const string Section = "Actions";

    /// <summary>Dead-letter topic → the consuming service's retry topic. A topic without an entry cannot be replayed.</summary>
    public Dictionary<string, string> RetryTopics { get; set; } = new() { ["payments-dlq"] = "order-retry" };

    /// <summary>Dead-letter topic → the consumer group of the service that reads its retry topic (STALL/STOP asks for confirmation).</summary>
    public Dictionary<string, string> ConsumerGroups { get; set; } = new() { ["payments-dlq"] = "payment-service" };

    /// <summary>Dead-letter topic → the workflow step its records block: a replay is "recovered" once that step of the order succeeds.</summary>
    public Dictionary<string, string> BlockedSteps { get; set; } = new() { ["payments-dlq"] = "payment-authorized", ["stock-dlq"] = "stock-reserved", ["shipping-dlq"] = "shipped" };

    /// <summary>A replay whose step has not succeeded this long after it is "still failing".</summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan OutcomeAfter { get; set; } = TimeSpan.FromMinutes(2);

    public IEnumerable<System.ComponentModel.DataAnnotations.ValidationResult> Validate(System.ComponentModel.DataAnnotations.ValidationContext validationContext) =>
        RetryTopics.Where(t => string.IsNullOrWhiteSpace(t.Value))
            .Select(t => new System.ComponentModel.DataAnnotations.ValidationResult($"Actions:RetryTopics:{t.Key} is empty (name the retry topic, or remove the entry)"));
}
