using OrderFlow.Domain.Control;
using OrderFlow.Domain.DeadLetters;
using OrderFlow.Domain.Lag;
using OrderFlow.Domain.Workflow;

namespace OrderFlow.Domain.Actions;

/// <summary>What an order-level action needs to know of the order (from the read model).</summary>
public sealed record OrderFacts(string OrderId, OrderStatus Status, string? OpenFailureStep);

/// <summary>What a dead-letter action needs to know of the dead letter, and how many earlier ones of its order still wait.</summary>
public sealed record DeadLetterFacts(
    long Id,
    string Topic,
    string? SourceTopic,
    int? SourcePartition,
    long? SourceOffset,
    string? OrderId,
    DeadLetterStatus Status,
    int EarlierWaitingOfOrder);

/// <summary>Manual expiry (<c>order-expiry-requested</c>): a reason is required; a terminal order is refused.</summary>
public static class ManualExpiry
{
    public static Decision Decide(ActionRequest request, OrderFacts order)
    {
        if (Deciders.Check(request, OperatorAction.ManualExpiry, reasonRequired: true) is { } refused)
        {
            return refused;
        }

        if (order.Status != OrderStatus.InProgress)
        {
            return Decision.Refuse(RefusalCode.OrderTerminal, $"order {order.OrderId} has already ended ({Orders.OrderStatusNames.ToName(order.Status)})");
        }

        return Decision.Accept(Deciders.Command(request, order.OrderId, new OrderExpiryRequested()));
    }
}

/// <summary>Payment-retry outreach: only for an in-flight order whose payment step failed and has not succeeded since.</summary>
public static class PaymentRetryOutreach
{
    /// <summary>The workflow step whose failure outreach answers.</summary>
    public const string PaymentStep = "payment-authorized";

    public static Decision Decide(ActionRequest request, OrderFacts order, string channel)
    {
        if (Deciders.Check(request, OperatorAction.PaymentRetryOutreach, reasonRequired: true) is { } refused)
        {
            return refused;
        }

        if (!PaymentRetryOutreachRequested.Channels.Contains(channel))
        {
            return Decision.Refuse(RefusalCode.UnknownChannel, $"channel must be one of {string.Join(", ", PaymentRetryOutreachRequested.Channels)}");
        }

        if (order.Status != OrderStatus.InProgress)
        {
            return Decision.Refuse(RefusalCode.OrderTerminal, $"order {order.OrderId} has already ended ({Orders.OrderStatusNames.ToName(order.Status)})");
        }

        if (order.OpenFailureStep != PaymentStep)
        {
            return Decision.Refuse(RefusalCode.PaymentNotFailed, $"order {order.OrderId} has no failed payment waiting");
        }

        return Decision.Accept(Deciders.Command(request, order.OrderId, new PaymentRetryOutreachRequested(channel)));
    }
}

/// <summary>
/// Replay of a dead letter to its consuming service's retry topic. Refused while an earlier dead letter of the same order
/// still waits (replaying out of order breaks per-key ordering) unless an OpsLead forces it with a reason; needs a
/// confirmation while the target service's consumer group is STALL or STOP.
/// </summary>
public static class DeadLetterReplay
{
    public static Decision Decide(ActionRequest request, DeadLetterFacts deadLetter, string? retryTopic, LagStatus? targetGroup, bool force, bool confirmed)
    {
        if (Deciders.Check(request, OperatorAction.Replay, reasonRequired: true) is { } refused)
        {
            return refused;
        }

        if (Deciders.Closed(deadLetter) is { } closed)
        {
            return closed;
        }

        if (retryTopic is null)
        {
            return Decision.Refuse(RefusalCode.NoRetryTopic, $"no retry topic is configured for {deadLetter.Topic}");
        }

        if (deadLetter.EarlierWaitingOfOrder > 0)
        {
            if (!force)
            {
                return Decision.Refuse(RefusalCode.EarlierDeadLetterWaiting,
                    $"{deadLetter.EarlierWaitingOfOrder} earlier dead letter(s) of order {deadLetter.OrderId} still wait: replay those first");
            }

            if (request.By.Role != OperatorRole.OpsLead)
            {
                return Decision.Refuse(RefusalCode.ForceNeedsOpsLead, "only an OpsLead may replay out of order");
            }
        }

        if (targetGroup is LagStatus.Stall or LagStatus.Stop && !confirmed)
        {
            return Decision.Refuse(RefusalCode.ConfirmationRequired,
                $"the consuming service is {targetGroup.Value.ToString().ToUpperInvariant()}: confirm to replay anyway");
        }

        return Decision.Accept(
            Deciders.Command(request, deadLetter.OrderId, new DeadLetterReplayed(
                deadLetter.Id, deadLetter.Topic, deadLetter.SourceTopic, deadLetter.SourcePartition, deadLetter.SourceOffset, retryTopic)),
            DeadLetterStatus.Replayed);
    }
}

/// <summary>Purge gives a dead letter up, with a required reason; skip leaves it for later with a note and publishes nothing.</summary>
public static class DeadLetterTriage
{
    public static Decision Purge(ActionRequest request, DeadLetterFacts deadLetter) =>
        Deciders.Check(request, OperatorAction.Purge, reasonRequired: true) ?? Deciders.Closed(deadLetter) ?? Decision.Accept(
            Deciders.Command(request, deadLetter.OrderId, new DeadLetterPurged(
                deadLetter.Id, deadLetter.Topic, deadLetter.SourceTopic, deadLetter.SourcePartition, deadLetter.SourceOffset)),
            DeadLetterStatus.Purged);

    public static Decision Skip(ActionRequest request, DeadLetterFacts deadLetter) =>
        Deciders.Check(request, OperatorAction.Skip, reasonRequired: true) ?? Deciders.Closed(deadLetter) ?? Decision.Accept(null, DeadLetterStatus.Skipped);

    /// <summary>Four eyes: a bulk purge runs only once an OpsLead other than the one who asked for it approves.</summary>
    public static Decision ApproveBulkPurge(ActionRequest approval, Operator requestedBy) =>
        Deciders.Check(approval, OperatorAction.ApproveBulkPurge, reasonRequired: false)
        ?? (approval.By.User == requestedBy.User
            ? Decision.Refuse(RefusalCode.OwnRequest, "a bulk purge needs the approval of another OpsLead")
            : Decision.Accept(null));
}

/// <summary>
/// Dismissing quarantined records: a person says the records of one cause were seen to (the producer fixed, the records
/// not wanted). They stay byte for byte and can still be listed; they no longer count as open. A reason is required.
/// </summary>
public static class QuarantineTriage
{
    public static Decision Dismiss(ActionRequest request, string cause, long open) =>
        Deciders.Check(request, OperatorAction.DismissQuarantined, reasonRequired: true)
        ?? (open == 0 ? Decision.Refuse(RefusalCode.NothingToDismiss, $"no open quarantined record has the cause \"{cause}\"") : Decision.Accept(null));
}

internal static class Deciders
{
    /// <summary>
    /// The checks every action starts with: the role may take it, and a reason is given where one is required (every
    /// control event carries one: docs/control-events.md).
    /// </summary>
    public static Decision? Check(ActionRequest request, OperatorAction action, bool reasonRequired)
    {
        if (!ActionPermissions.Allows(request.By.Role, action))
        {
            return Decision.Refuse(RefusalCode.NotPermitted, $"{request.By.Role} may not {action}");
        }

        return reasonRequired && string.IsNullOrWhiteSpace(request.Reason)
            ? Decision.Refuse(RefusalCode.ReasonRequired, "a reason is required")
            : null;
    }

    public static Decision? Closed(DeadLetterFacts deadLetter) =>
        deadLetter.Status is DeadLetterStatus.Replayed or DeadLetterStatus.Purged
            ? Decision.Refuse(RefusalCode.DeadLetterClosed, $"dead letter {deadLetter.Id} is already {DeadLetterStatusNames.ToName(deadLetter.Status)}")
            : null;

    public static ControlEvent Command(ActionRequest request, string? orderId, ControlData data) =>
        new(request.ActionId, orderId, request.By.AsRequester(), request.At, request.Reason?.Trim() ?? "", data);
}
