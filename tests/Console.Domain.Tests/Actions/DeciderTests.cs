using System.Text;
using OrderFlow.Domain.Actions;
using OrderFlow.Domain.Control;
using OrderFlow.Domain.DeadLetters;
using OrderFlow.Domain.Lag;
using OrderFlow.Domain.Workflow;

namespace OrderFlow.Domain.Tests.Actions;

public class DeciderTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly Guid ActionId = Guid.Parse("7d3c2f7e-0c55-4d3e-9a4f-2b1c0d9e8f71");

    private static ActionRequest By(OperatorRole role, string? reason = "customer asked", string user = "ana") =>
        new(ActionId, new Operator(user, role), At, reason);

    private static readonly OrderFacts InFlight = new("ORD-1", OrderStatus.InProgress, null);

    private static DeadLetterFacts DeadLetter(DeadLetterStatus status = DeadLetterStatus.New, int earlierWaiting = 0) =>
        new(42, "payments-dlq", "order-ops", 3, 1001, "ORD-1", status, earlierWaiting);

    [Fact]
    public void Manual_expiry_of_an_order_in_flight_becomes_an_order_expiry_requested_command_with_the_action_id()
    {
        var decision = ManualExpiry.Decide(By(OperatorRole.SupportAgent), InFlight);

        Assert.True(decision.Accepted);
        var command = decision.Command!;
        Assert.IsType<OrderExpiryRequested>(command.Data);
        Assert.Equal(ActionId, command.CommandId);
        Assert.Equal("ORD-1", command.Key);
        Assert.Equal(new ControlRequester("ana", "SupportAgent"), command.RequestedBy);
        Assert.Equal("customer asked", command.Reason);
        // What it publishes is a valid control event.
        Assert.True(ControlEventCodec.TryParse(Encoding.UTF8.GetBytes(command.Key), ControlEventCodec.Serialize(command), out _, out var error), error);
    }

    [Theory]
    [InlineData(OrderStatus.Completed)]
    [InlineData(OrderStatus.Expired)]
    [InlineData(OrderStatus.Cancelled)]
    public void Manual_expiry_of_a_terminal_order_is_refused(OrderStatus status)
    {
        var decision = ManualExpiry.Decide(By(OperatorRole.OpsLead), InFlight with { Status = status });

        Assert.Equal(RefusalCode.OrderTerminal, decision.Refusal!.Code);
        Assert.Null(decision.Command);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("  ")]
    public void Manual_expiry_without_a_reason_is_refused(string? reason) =>
        Assert.Equal(RefusalCode.ReasonRequired, ManualExpiry.Decide(By(OperatorRole.SupportAgent, reason), InFlight).Refusal!.Code);

    [Fact]
    public void A_business_user_may_take_no_action()
    {
        var user = By(OperatorRole.BusinessUser);
        Assert.All(Enum.GetValues<OperatorAction>(), a => Assert.False(ActionPermissions.Allows(OperatorRole.BusinessUser, a)));
        Assert.Equal(RefusalCode.NotPermitted, ManualExpiry.Decide(user, InFlight).Refusal!.Code);
        Assert.Equal(RefusalCode.NotPermitted, DeadLetterReplay.Decide(user, DeadLetter(), "order-retry", LagStatus.Ok, force: false, confirmed: false).Refusal!.Code);
        Assert.Equal(RefusalCode.NotPermitted, DeadLetterTriage.Purge(user, DeadLetter()).Refusal!.Code);
    }

    [Fact]
    public void A_support_agent_may_not_purge_but_an_ops_lead_may()
    {
        Assert.Equal(RefusalCode.NotPermitted, DeadLetterTriage.Purge(By(OperatorRole.SupportAgent), DeadLetter()).Refusal!.Code);

        var purged = DeadLetterTriage.Purge(By(OperatorRole.OpsLead), DeadLetter());
        Assert.Equal(DeadLetterStatus.Purged, purged.DeadLetterStatus);
        Assert.Equal(new DeadLetterPurged(42, "payments-dlq", "order-ops", 3, 1001), purged.Command!.Data);
    }

    [Fact]
    public void Outreach_needs_a_failed_payment_and_a_known_channel()
    {
        var failed = InFlight with { OpenFailureStep = PaymentRetryOutreach.PaymentStep };

        Assert.Equal(RefusalCode.PaymentNotFailed, PaymentRetryOutreach.Decide(By(OperatorRole.SupportAgent), InFlight, "email").Refusal!.Code);
        Assert.Equal(RefusalCode.UnknownChannel, PaymentRetryOutreach.Decide(By(OperatorRole.SupportAgent), failed, "pigeon").Refusal!.Code);
        Assert.Equal(new PaymentRetryOutreachRequested("sms"), PaymentRetryOutreach.Decide(By(OperatorRole.SupportAgent), failed, "sms").Command!.Data);
    }

    [Fact]
    public void Replay_goes_to_the_retry_topic_and_marks_the_dead_letter_replayed()
    {
        var decision = DeadLetterReplay.Decide(By(OperatorRole.SupportAgent), DeadLetter(), "order-retry", LagStatus.Ok, force: false, confirmed: false);

        Assert.Equal(DeadLetterStatus.Replayed, decision.DeadLetterStatus);
        Assert.Equal(new DeadLetterReplayed(42, "payments-dlq", "order-ops", 3, 1001, "order-retry"), decision.Command!.Data);
    }

    [Fact]
    public void Replay_while_an_earlier_dead_letter_of_the_order_waits_is_refused_unless_an_ops_lead_forces_it()
    {
        var waiting = DeadLetter(earlierWaiting: 1);

        Assert.Equal(RefusalCode.EarlierDeadLetterWaiting, DeadLetterReplay.Decide(By(OperatorRole.OpsLead), waiting, "order-retry", null, force: false, confirmed: false).Refusal!.Code);
        Assert.Equal(RefusalCode.ForceNeedsOpsLead, DeadLetterReplay.Decide(By(OperatorRole.SupportAgent), waiting, "order-retry", null, force: true, confirmed: false).Refusal!.Code);
        Assert.True(DeadLetterReplay.Decide(By(OperatorRole.OpsLead), waiting, "order-retry", null, force: true, confirmed: false).Accepted);
    }

    [Theory]
    [InlineData(LagStatus.Stall)]
    [InlineData(LagStatus.Stop)]
    public void Replay_to_a_stalled_or_stopped_service_needs_a_confirmation(LagStatus status)
    {
        Assert.Equal(RefusalCode.ConfirmationRequired, DeadLetterReplay.Decide(By(OperatorRole.SupportAgent), DeadLetter(), "order-retry", status, force: false, confirmed: false).Refusal!.Code);
        Assert.True(DeadLetterReplay.Decide(By(OperatorRole.SupportAgent), DeadLetter(), "order-retry", status, force: false, confirmed: true).Accepted);
    }

    [Theory]
    [InlineData(DeadLetterStatus.Replayed)]
    [InlineData(DeadLetterStatus.Purged)]
    public void A_replayed_or_purged_dead_letter_is_not_acted_on_again(DeadLetterStatus status)
    {
        Assert.Equal(RefusalCode.DeadLetterClosed, DeadLetterReplay.Decide(By(OperatorRole.OpsLead), DeadLetter(status), "order-retry", null, false, false).Refusal!.Code);
        Assert.Equal(RefusalCode.DeadLetterClosed, DeadLetterTriage.Purge(By(OperatorRole.OpsLead), DeadLetter(status)).Refusal!.Code);
        Assert.Equal(RefusalCode.DeadLetterClosed, DeadLetterTriage.Skip(By(OperatorRole.OpsLead), DeadLetter(status)).Refusal!.Code);
    }

    [Fact]
    public void Replay_without_a_retry_topic_for_the_dead_letter_topic_is_refused() =>
        Assert.Equal(RefusalCode.NoRetryTopic, DeadLetterReplay.Decide(By(OperatorRole.OpsLead), DeadLetter(), null, null, false, false).Refusal!.Code);

    [Fact]
    public void Skip_publishes_nothing_and_leaves_the_dead_letter_skipped()
    {
        var decision = DeadLetterTriage.Skip(By(OperatorRole.SupportAgent, "waiting for the provider"), DeadLetter());

        Assert.Null(decision.Command);
        Assert.Equal(DeadLetterStatus.Skipped, decision.DeadLetterStatus);
    }

    [Theory]
    [InlineData(OperatorRole.SupportAgent, "fixed in the producer", 12, null)]
    [InlineData(OperatorRole.OpsLead, "fixed in the producer", 1, null)]
    [InlineData(OperatorRole.SupportAgent, "fixed in the producer", 0, RefusalCode.NothingToDismiss)]
    [InlineData(OperatorRole.SupportAgent, " ", 12, RefusalCode.ReasonRequired)]
    [InlineData(OperatorRole.BusinessUser, "fixed in the producer", 12, RefusalCode.NotPermitted)]
    public void Dismissing_quarantined_records_needs_a_role_a_reason_and_an_open_record_and_publishes_nothing(OperatorRole role, string reason, long open, RefusalCode? refused)
    {
        var decision = QuarantineTriage.Dismiss(By(role, reason), "payload is not valid JSON", open);

        Assert.Equal(refused, decision.Refusal?.Code);
        Assert.Null(decision.Command);
        Assert.Null(decision.DeadLetterStatus);
    }

    [Fact]
    public void A_bulk_purge_is_approved_only_by_another_ops_lead()
    {
        var requester = new Operator("ana", OperatorRole.OpsLead);

        Assert.Equal(RefusalCode.OwnRequest, DeadLetterTriage.ApproveBulkPurge(By(OperatorRole.OpsLead, user: "ana"), requester).Refusal!.Code);
        Assert.Equal(RefusalCode.NotPermitted, DeadLetterTriage.ApproveBulkPurge(By(OperatorRole.SupportAgent, user: "bo"), requester).Refusal!.Code);
        Assert.True(DeadLetterTriage.ApproveBulkPurge(By(OperatorRole.OpsLead, user: "bo"), requester).Accepted);
    }
}
