namespace OrderFlow.Simulator.Services;

/// <summary>
/// The simulated services' reactions to operator commands on the control topic (its own group, simulator-control): the
/// payment service retries after an outreach (and the order service gives the customer a new payment window), the order
/// service expires an order. Each command once, by its id.
/// </summary>
public sealed class ControlService(PaymentService payments, OrderService orders, IOptions<SimulatorOptions> options, TimeProvider clock, ILogger<ControlService> logger)
    : ConsumingService(options, clock, logger, Group)
{
    public const string Group = "simulator-control";

    private readonly RecentSet _seen = new(Memory);

    protected override IReadOnlyList<string> Topics => [Options.ControlTopic];

    protected override async Task HandleAsync(ConsumeResult<byte[]?, byte[]?> record, CancellationToken stoppingToken)
    {
        if (!ControlEventCodec.TryParse(record.Message.Key, record.Message.Value, out var command, out var error))
        {
            Logger.LogWarning("control: record {Topic}[{Partition}]@{Offset} ignored: {Error}", record.Topic, record.Partition.Value, record.Offset.Value, error);
            return;
        }

        if (_seen.Contains(command!.CommandId.ToString()))
        {
            Logger.LogInformation("control: command {CommandId} ({Type}) seen before, ignored", command.CommandId, command.Type);
            return;
        }

        var trace = TraceHeaders.From(record.Message.Headers);
        trace = trace with { CorrelationId = trace.CorrelationId ?? command.CommandId.ToString() };
        switch (command.Data)
        {
            case PaymentRetryOutreachRequested outreach:
                orders.RestartPaymentWindow(command, outreach);
                payments.ScheduleOutreachRetry(command, outreach, trace, stoppingToken);
                break;
            case OrderExpiryRequested:
                await orders.ExpireAsync(command, trace);
                break;
            case DeadLetterReplayed replayed:
                // Nothing to do here: the replayed record itself arrives on the retry topic, where the payment service reads it.
                Logger.LogInformation("control: dead letter {DeadLetterId} replayed to {RetryTopic}", replayed.DeadLetterId, replayed.RetryTopic);
                break;
            case DeadLetterPurged purged:
                Logger.LogInformation("control: dead letter {DeadLetterId} purged", purged.DeadLetterId);
                break;
        }

        _seen.Add(command.CommandId.ToString());
        Logger.LogInformation("control: handled {Type} {CommandId} (key {Key})", command.Type, command.CommandId, command.Key);
    }
}
