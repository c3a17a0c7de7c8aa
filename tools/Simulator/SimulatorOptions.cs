using System.ComponentModel.DataAnnotations;

namespace OrderFlow.Simulator;

/// <summary>Section "Simulator". Faults can be switched at start with environment variables (Simulator__StockStalled=true).</summary>
public sealed class SimulatorOptions
{
    [Required(ErrorMessage = "Kafka:BootstrapServers is not set")]
    public string BootstrapServers { get; set; } = "";

    public string OperationalTopic { get; set; } = "order-ops";

    [Range(0.0, 10_000.0)]
    public double OrdersPerSecond { get; set; } = 2;

    /// <summary>Share of payments that fail with "invalid payment details".</summary>
    [Range(0.0, 1.0)]
    public double PaymentFailureRate { get; set; } = 0.1;

    /// <summary>The stock service stops reacting: orders pile up before shipping and breach their SLA.</summary>
    public bool StockStalled { get; set; }

    /// <summary>Extra processing time per record for the shipping service (lag grows when it exceeds the order rate).</summary>
    public TimeSpan ShippingDelay { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>Share of payment records that turn out poison and go to payments-dlq with error headers.</summary>
    [Range(0.0, 1.0)]
    public double PoisonRate { get; set; } = 0.02;

    public string PaymentsDeadLetterTopic { get; set; } = "payments-dlq";
}
