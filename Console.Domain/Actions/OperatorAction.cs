namespace OrderFlow.Domain.Actions;

/// <summary>The roles an operator acts in (docs/control-events.md: requestedBy.role).</summary>
public enum OperatorRole
{
    /// <summary>Views; single replay, payment-retry outreach, manual expiry, dismissing quarantined records.</summary>
    SupportAgent,

    /// <summary>Everything, including bulk replay and purge, and approving a bulk purge.</summary>
    OpsLead,

    /// <summary>Dashboards and reports: no actions.</summary>
    BusinessUser,
}

/// <summary>What an operator can do from the console.</summary>
public enum OperatorAction
{
    Replay,
    BulkReplay,
    Purge,
    BulkPurge,
    ApproveBulkPurge,
    Skip,
    PaymentRetryOutreach,
    ManualExpiry,

    /// <summary>Quarantined records of one cause seen to: kept byte for byte, no longer counted as open.</summary>
    DismissQuarantined,
}

/// <summary>Who acts: the signed-in user and the role they act in.</summary>
public sealed record Operator(string User, OperatorRole Role)
{
    public Control.ControlRequester AsRequester() => new(User, Role.ToString());
}

/// <summary>
/// One operator request as the console received it. ActionId de-duplicates double clicks, reloads and retries: it is
/// the command id of what the action publishes.
/// </summary>
public sealed record ActionRequest(Guid ActionId, Operator By, DateTimeOffset At, string? Reason);

/// <summary>Which role may take which action: the one table the server checks and the authorization tests are built from.</summary>
public static class ActionPermissions
{
    public static IReadOnlyDictionary<OperatorRole, IReadOnlySet<OperatorAction>> Table { get; } = new Dictionary<OperatorRole, IReadOnlySet<OperatorAction>>
    {
        [OperatorRole.SupportAgent] = new HashSet<OperatorAction> { OperatorAction.Replay, OperatorAction.Skip, OperatorAction.PaymentRetryOutreach, OperatorAction.ManualExpiry, OperatorAction.DismissQuarantined },
        [OperatorRole.OpsLead] = Enum.GetValues<OperatorAction>().ToHashSet(),
        [OperatorRole.BusinessUser] = new HashSet<OperatorAction>(),
    };

    public static bool Allows(OperatorRole role, OperatorAction action) => Table.TryGetValue(role, out var actions) && actions.Contains(action);
}
