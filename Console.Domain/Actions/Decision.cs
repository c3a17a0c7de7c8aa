using OrderFlow.Domain.Control;
using OrderFlow.Domain.DeadLetters;

namespace OrderFlow.Domain.Actions;

/// <summary>Why an action was refused, as a value the console shows and the audit trail records.</summary>
public enum RefusalCode
{
    NotPermitted,
    ReasonRequired,
    OrderTerminal,
    PaymentNotFailed,
    UnknownChannel,
    DeadLetterClosed,
    NoRetryTopic,
    EarlierDeadLetterWaiting,
    ForceNeedsOpsLead,
    ConfirmationRequired,
    OwnRequest,
    IllegalTransition,
    NothingToDismiss,
}

public sealed record Refusal(RefusalCode Code, string Message);

/// <summary>
/// What a decider says about one action: refused (and why), or accepted with the control event to publish (none for an
/// action that only changes the read model) and the status a dead letter moves to.
/// </summary>
public sealed record Decision(Refusal? Refusal, ControlEvent? Command = null, DeadLetterStatus? DeadLetterStatus = null)
{
    public bool Accepted => Refusal is null;

    public static Decision Refuse(RefusalCode code, string message) => new(new Refusal(code, message));

    public static Decision Accept(ControlEvent? command, DeadLetterStatus? deadLetterStatus = null) => new(null, command, deadLetterStatus);
}
