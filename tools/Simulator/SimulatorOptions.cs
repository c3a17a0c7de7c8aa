using System.Globalization;

namespace OrderFlow.Simulator;

/// <summary>Where a consumer group without committed offsets starts reading.</summary>
public enum ConsumeFrom
{
    /// <summary>Only records produced after the group joined (the default: a fresh run ignores old traffic).</summary>
    Latest,

    /// <summary>Everything still on the topic (tests, or to work through what is already there).</summary>
    Earliest,
}

/// <summary>
/// Section "Simulator". Faults can be switched at start with environment variables (Simulator__StockStalled=true).
/// Topic names and the bootstrap servers come from the console's own "Kafka" section when it sets them.
/// </summary>
public sealed class SimulatorOptions
{
    public string BootstrapServers { get; set; } = "";

    public string OperationalTopic { get; set; } = "order-ops";

    /// <summary>Operator commands (docs/control-events.md); read by the simulator's own group <c>simulator-control</c>.</summary>
    public string ControlTopic { get; set; } = "order-control";

    /// <summary>Replayed dead letters: original records of payments-dlq, processed again by the payment service.</summary>
    public string RetryTopic { get; set; } = "order-retry";

    public string PaymentsDeadLetterTopic { get; set; } = "payments-dlq";

    public double OrdersPerSecond { get; set; } = 2;

    /// <summary>Share of payments that fail with "invalid payment details".</summary>
    public double PaymentFailureRate { get; set; } = 0.1;

    /// <summary>The stock service consumes nothing, as if down: its group's lag grows, orders pile up at stock-reserved and breach their SLA.</summary>
    public bool StockStalled { get; set; }

    /// <summary>Extra processing time per record for the shipping service (lag grows when it exceeds the order rate).</summary>
    public TimeSpan ShippingDelay { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>Share of payment records that turn out poison and go to payments-dlq with error headers.</summary>
    public double PoisonRate { get; set; } = 0.02;

    /// <summary>Share of payment-retry outreaches after which the customer's retried payment succeeds.</summary>
    public double OutreachSuccessRate { get; set; } = 0.7;

    /// <summary>How long after an outreach request the customer retries the payment.</summary>
    public TimeSpan OutreachRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the shop waits for an order's payment before the order service expires the order (reason "payment not
    /// authorized within …"); a payment-retry outreach starts the window again. 00:00:00: never.
    /// </summary>
    public TimeSpan PaymentWindow { get; set; } = TimeSpan.FromMinutes(10);

    public ConsumeFrom ConsumeFrom { get; set; } = ConsumeFrom.Latest;
}

/// <summary>Names every setting that is out of range, in one line per problem.</summary>
public sealed class SimulatorOptionsValidator : IValidateOptions<SimulatorOptions>
{
    private static readonly TimeSpan MaxDelay = TimeSpan.FromHours(1);

    public ValidateOptionsResult Validate(string? name, SimulatorOptions o)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(o.BootstrapServers))
        {
            problems.Add("Kafka:BootstrapServers is not set (for example Kafka__BootstrapServers=127.0.0.1:9092)");
        }

        foreach (var (setting, topic) in new[]
        {
            ("OperationalTopic", o.OperationalTopic), ("ControlTopic", o.ControlTopic), ("RetryTopic", o.RetryTopic), ("PaymentsDeadLetterTopic", o.PaymentsDeadLetterTopic),
        })
        {
            if (string.IsNullOrWhiteSpace(topic))
            {
                problems.Add($"Simulator:{setting} is empty");
            }
        }

        if (!string.IsNullOrWhiteSpace(o.RetryTopic) && (o.RetryTopic == o.OperationalTopic || o.RetryTopic == o.PaymentsDeadLetterTopic))
        {
            problems.Add($"Simulator:RetryTopic '{o.RetryTopic}' must differ from the operational and dead-letter topics");
        }

        Range(problems, "OrdersPerSecond", o.OrdersPerSecond, 0, 10_000);
        Range(problems, "PaymentFailureRate", o.PaymentFailureRate, 0, 1);
        Range(problems, "PoisonRate", o.PoisonRate, 0, 1);
        Range(problems, "OutreachSuccessRate", o.OutreachSuccessRate, 0, 1);
        Delay(problems, "ShippingDelay", o.ShippingDelay);
        Delay(problems, "OutreachRetryDelay", o.OutreachRetryDelay);
        Delay(problems, "PaymentWindow", o.PaymentWindow);
        if (!Enum.IsDefined(o.ConsumeFrom))
        {
            problems.Add("Simulator:ConsumeFrom must be Latest or Earliest");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static void Range(List<string> problems, string setting, double value, double min, double max)
    {
        if (double.IsNaN(value) || value < min || value > max)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"Simulator:{setting} must be between {min} and {max} (got {value})"));
        }
    }

    private static void Delay(List<string> problems, string setting, TimeSpan value)
    {
        if (value < TimeSpan.Zero || value > MaxDelay)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"Simulator:{setting} must be between 00:00:00 and {MaxDelay:c} (got {value:c})"));
        }
    }
}
