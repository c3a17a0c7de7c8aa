using System.Globalization;
using System.Text;

namespace OrderFlow.Simulator.Services;

/// <summary>
/// Authorizes payments for placed orders (some fail, some turn out poison and go to the dead-letter topic), processes
/// replayed dead letters from the retry topic, retries a payment after an operator's outreach, and refunds an authorized
/// payment when its order expires or is cancelled.
/// </summary>
public sealed class PaymentService(EventPublisher publisher, IOptions<SimulatorOptions> options, TimeProvider clock, ILogger<PaymentService> logger)
    : ReactingService(publisher, options, clock, logger, Group, Steps.OrderPlaced, Steps.OrderCompleted, Steps.OrderExpired, Steps.OrderCancelled)
{
    public const string Group = "payment-service";

    private readonly RecentSet _authorized = new(Memory);
    private readonly RecentSet _ended = new(Memory);

    /// <summary>Also the retry topic: records there are original records of the dead-letter topic, produced again by a replay.</summary>
    protected override IReadOnlyList<string> Topics => [Options.OperationalTopic, Options.RetryTopic];

    protected override Task ReactAsync(OperationalEvent e, ConsumeResult<byte[]?, byte[]?> record, CancellationToken stoppingToken)
    {
        var trace = TraceHeaders.From(record.Message.Headers);
        switch (e.Step)
        {
            case Steps.OrderPlaced:
                return AuthorizeAsync(e, record, trace);
            case Steps.OrderCompleted:
                // Paid and delivered: nothing will ever be refunded, so the order can be forgotten.
                _authorized.Remove(e.OrderId);
                return Task.CompletedTask;
            default:
                return RefundAsync(e, trace);
        }
    }

    /// <summary>
    /// The customer retries the payment some time after an outreach; it succeeds with Simulator:OutreachSuccessRate.
    /// Publishing it is tried again until it goes out (or the simulator stops).
    /// </summary>
    public void ScheduleOutreachRetry(ControlEvent command, PaymentRetryOutreachRequested outreach, TraceHeaders trace, CancellationToken stoppingToken)
    {
        var orderId = command.OrderId!;
        if (IsSettled(orderId, command.CommandId))
        {
            return;
        }

        _ = Task.Run(
            async () =>
            {
                try
                {
                    await Task.Delay(Options.OutreachRetryDelay, Clock, stoppingToken);
                    var attributes = new { retry = true, outreachCommandId = command.CommandId, channel = outreach.Channel, provider = "simpay" };
                    var succeeds = Random.Shared.NextDouble() < Options.OutreachSuccessRate;
                    while (!IsSettled(orderId, command.CommandId))
                    {
                        try
                        {
                            if (succeeds)
                            {
                                await Publisher.PublishAsync(orderId, Steps.PaymentAuthorized, Group, attributes: attributes, trace: trace);
                                _authorized.Add(orderId);
                            }
                            else
                            {
                                await Publisher.PublishAsync(orderId, Steps.PaymentAuthorized, Group, succeeded: false,
                                    reason: $"payment retried after {outreach.Channel} outreach: card declined", attributes: attributes, trace: trace);
                            }

                            return;
                        }
                        catch (ProduceException<string, byte[]> ex)
                        {
                            Logger.LogWarning("payment-service could not publish the outreach retry of {OrderId}: {Reason}; trying again", orderId, ex.Error.Reason);
                            await Task.Delay(TimeSpan.FromSeconds(1), Clock, stoppingToken);
                        }
                    }
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                }
            },
            CancellationToken.None);
    }

    private bool IsSettled(string orderId, Guid commandId)
    {
        if (_ended.Contains(orderId))
        {
            Logger.LogInformation("payment-service: outreach {CommandId} for {OrderId} ignored, the order has ended", commandId, orderId);
            return true;
        }

        if (_authorized.Contains(orderId))
        {
            Logger.LogInformation("payment-service: outreach {CommandId} for {OrderId} ignored, the payment is already authorized", commandId, orderId);
            return true;
        }

        return false;
    }

    private async Task AuthorizeAsync(OperationalEvent placed, ConsumeResult<byte[]?, byte[]?> record, TraceHeaders trace)
    {
        var replayed = record.Topic == Options.RetryTopic;
        if (_ended.Contains(placed.OrderId) || _authorized.Contains(placed.OrderId))
        {
            Logger.LogInformation("payment-service: {OrderId} from {Topic} skipped, its payment is already settled", placed.OrderId, record.Topic);
            return;
        }

        if (!replayed && Random.Shared.NextDouble() < Options.PoisonRate)
        {
            // A record the payment service could not process: to its dead-letter topic, original key, value and
            // headers untouched, with the conventional error headers added.
            var headers = new Headers();
            foreach (var header in record.Message.Headers ?? [])
            {
                headers.Add(header.Key, header.GetValueBytes());
            }

            headers.Add("dlq-original-topic", Encoding.UTF8.GetBytes(record.Topic));
            headers.Add("dlq-original-partition", Encoding.UTF8.GetBytes(record.Partition.Value.ToString(CultureInfo.InvariantCulture)));
            headers.Add("dlq-original-offset", Encoding.UTF8.GetBytes(record.Offset.Value.ToString(CultureInfo.InvariantCulture)));
            headers.Add("dlq-error-reason", Encoding.UTF8.GetBytes("payment provider returned malformed response"));
            headers.Add("dlq-service", Encoding.UTF8.GetBytes(Group));
            await Publisher.PublishRawAsync(Options.PaymentsDeadLetterTopic, placed.OrderId, record.Message.Value!, headers);
            return;
        }

        object attributes = replayed ? new { provider = "simpay", replayed = true, replayedFrom = record.Topic } : new { provider = "simpay" };
        if (Random.Shared.NextDouble() < Options.PaymentFailureRate)
        {
            await Publisher.PublishAsync(placed.OrderId, Steps.PaymentAuthorized, Group, succeeded: false, reason: "invalid payment details", attributes: attributes, trace: trace);
            return;
        }

        await Publisher.PublishAsync(placed.OrderId, Steps.PaymentAuthorized, Group, attributes: attributes, trace: trace);
        _authorized.Add(placed.OrderId);
    }

    private async Task RefundAsync(OperationalEvent ended, TraceHeaders trace)
    {
        if (!_authorized.Contains(ended.OrderId))
        {
            _ended.Add(ended.OrderId);
            Logger.LogInformation("payment-service: {OrderId} {Step}, nothing to refund", ended.OrderId, ended.Step);
            return;
        }

        await CompensateAsync(Group, Steps.PaymentRefunded, Steps.PaymentAuthorized, ended, trace);
        _authorized.Remove(ended.OrderId);
        _ended.Add(ended.OrderId);
        Logger.LogInformation("payment-service: {OrderId} {Step}, payment refunded", ended.OrderId, ended.Step);
    }
}
