using OrderFlow.Domain.Actions;

namespace OrderFlow.Domain.Tests.Actions;

public class BulkJobTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);

    private static ActionRequest By(OperatorRole role, string user = "ana") => new(Guid.NewGuid(), new Operator(user, role), At, null);

    private static BulkJobFacts Job(BulkKind kind, BulkJobState state) => new(Guid.NewGuid(), kind, state, "ana");

    [Fact]
    public void A_replay_job_starts_running_at_once_a_purge_job_waits_for_approval()
    {
        Assert.Equal(BulkJobState.Running, BulkJobs.Decide(BulkCommand.Start, By(OperatorRole.OpsLead), Job(BulkKind.Replay, BulkJobState.DryRun)).Next);
        Assert.Equal(BulkJobState.AwaitingApproval, BulkJobs.Decide(BulkCommand.Start, By(OperatorRole.OpsLead), Job(BulkKind.Purge, BulkJobState.DryRun)).Next);
    }

    [Fact]
    public void The_requester_cannot_approve_their_own_bulk_purge_a_second_ops_lead_can()
    {
        var job = Job(BulkKind.Purge, BulkJobState.AwaitingApproval);

        Assert.Equal(RefusalCode.OwnRequest, BulkJobs.Decide(BulkCommand.Approve, By(OperatorRole.OpsLead, "ana"), job).Refusal!.Code);
        Assert.Equal(RefusalCode.NotPermitted, BulkJobs.Decide(BulkCommand.Approve, By(OperatorRole.SupportAgent, "bo"), job).Refusal!.Code);
        var approved = BulkJobs.Decide(BulkCommand.Approve, By(OperatorRole.OpsLead, "bo"), job);
        Assert.True(approved.Accepted);
        Assert.Equal(BulkJobState.Running, approved.Next);
    }

    [Theory]
    [InlineData(BulkCommand.Pause, BulkJobState.Running, BulkJobState.Paused)]
    [InlineData(BulkCommand.Resume, BulkJobState.Paused, BulkJobState.Running)]
    [InlineData(BulkCommand.Cancel, BulkJobState.DryRun, BulkJobState.Cancelled)]
    [InlineData(BulkCommand.Cancel, BulkJobState.Running, BulkJobState.Cancelled)]
    [InlineData(BulkCommand.Cancel, BulkJobState.Paused, BulkJobState.Cancelled)]
    public void Legal_transitions_move_the_job_on(BulkCommand command, BulkJobState from, BulkJobState to) =>
        Assert.Equal(to, BulkJobs.Decide(command, By(OperatorRole.OpsLead), Job(BulkKind.Replay, from)).Next);

    [Theory]
    [InlineData(BulkCommand.Start, BulkJobState.Running)]
    [InlineData(BulkCommand.Resume, BulkJobState.Running)]
    [InlineData(BulkCommand.Pause, BulkJobState.Paused)]
    [InlineData(BulkCommand.Cancel, BulkJobState.Finished)]
    [InlineData(BulkCommand.Start, BulkJobState.Cancelled)]
    [InlineData(BulkCommand.Approve, BulkJobState.DryRun)]
    public void Illegal_transitions_are_refused_loudly(BulkCommand command, BulkJobState from)
    {
        var decision = BulkJobs.Decide(command, By(OperatorRole.OpsLead, "bo"), Job(command == BulkCommand.Approve ? BulkKind.Purge : BulkKind.Replay, from));

        Assert.Equal(RefusalCode.IllegalTransition, decision.Refusal!.Code);
        Assert.Equal(from, decision.Next);
    }

    [Fact]
    public void Only_an_ops_lead_may_run_bulk_jobs() =>
        Assert.Equal(RefusalCode.NotPermitted, BulkJobs.Decide(BulkCommand.Start, By(OperatorRole.SupportAgent), Job(BulkKind.Replay, BulkJobState.DryRun)).Refusal!.Code);

    [Fact]
    public void A_records_action_id_is_the_same_for_the_same_job_and_dead_letter_and_differs_otherwise()
    {
        var job = Guid.Parse("0b5a4f8e-2c1d-4e3f-9a8b-7c6d5e4f3a21");

        Assert.Equal(BulkJobs.RecordActionId(job, 42), BulkJobs.RecordActionId(job, 42));
        Assert.NotEqual(BulkJobs.RecordActionId(job, 42), BulkJobs.RecordActionId(job, 43));
        Assert.NotEqual(BulkJobs.RecordActionId(job, 42), BulkJobs.RecordActionId(Guid.NewGuid(), 42));
    }

    [Fact]
    public void Records_are_due_one_rate_interval_apart_from_the_run_start()
    {
        Assert.Equal(At, BulkJobs.Due(At, 0, 50));
        Assert.Equal(At.AddSeconds(2), BulkJobs.Due(At, 100, 50));
        Assert.Equal(TimeSpan.FromSeconds(3), BulkJobs.EstimatedDuration(101, 50));
    }

    [Fact]
    public void Every_state_has_a_name_that_parses_back()
    {
        foreach (var state in Enum.GetValues<BulkJobState>())
        {
            Assert.Equal(state, BulkJobs.ParseState(BulkJobs.StateName(state)));
        }
    }
}
