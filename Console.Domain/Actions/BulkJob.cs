using System.Security.Cryptography;
using System.Text;

namespace OrderFlow.Domain.Actions;

/// <summary>What a bulk job does to each of its dead letters.</summary>
public enum BulkKind
{
    Replay,
    Purge,
}

/// <summary>Where a bulk job stands (bulk_jobs.state). Only <see cref="BulkJobs.Decide"/> and the runner's finish move it on.</summary>
public enum BulkJobState
{
    /// <summary>Created: the dry run is shown, nothing was done.</summary>
    DryRun,

    /// <summary>A bulk purge asked to start: it waits for a second OpsLead (four eyes).</summary>
    AwaitingApproval,

    /// <summary>The runner works through its records at the job's rate.</summary>
    Running,

    Paused,

    /// <summary>Stopped for good; records not reached stay pending.</summary>
    Cancelled,

    /// <summary>Every record has a result.</summary>
    Finished,
}

/// <summary>What an operator can ask of a bulk job.</summary>
public enum BulkCommand
{
    Start,
    Approve,
    Pause,
    Resume,
    Cancel,
}

/// <summary>What a command needs to know of the job.</summary>
public sealed record BulkJobFacts(Guid Id, BulkKind Kind, BulkJobState State, string RequestedBy);

/// <summary>A command's answer: refused (and why), or the state the job moves to.</summary>
public sealed record BulkDecision(Refusal? Refusal, BulkJobState Next)
{
    public bool Accepted => Refusal is null;
}

/// <summary>
/// The bulk-job rules (decision 0021): who may do what to a job and which transitions are legal, the per-record action ids
/// that keep a resumed job from publishing a record twice, and the pacing arithmetic of the rate cap.
/// </summary>
public static class BulkJobs
{
    public static OperatorAction ActionOf(BulkKind kind) => kind == BulkKind.Replay ? OperatorAction.BulkReplay : OperatorAction.BulkPurge;

    public static BulkDecision Decide(BulkCommand command, ActionRequest request, BulkJobFacts job)
    {
        var checkedFirst = command == BulkCommand.Approve
            ? DeadLetterTriage.ApproveBulkPurge(request, new Operator(job.RequestedBy, OperatorRole.OpsLead)).Refusal
            : Deciders.Check(request, ActionOf(job.Kind), reasonRequired: false)?.Refusal;
        if (checkedFirst is not null)
        {
            return new BulkDecision(checkedFirst, job.State);
        }

        BulkJobState? next = (command, job.State, job.Kind) switch
        {
            (BulkCommand.Start, BulkJobState.DryRun, BulkKind.Replay) => BulkJobState.Running,
            (BulkCommand.Start, BulkJobState.DryRun, BulkKind.Purge) => BulkJobState.AwaitingApproval,
            (BulkCommand.Approve, BulkJobState.AwaitingApproval, _) => BulkJobState.Running,
            (BulkCommand.Pause, BulkJobState.Running, _) => BulkJobState.Paused,
            (BulkCommand.Resume, BulkJobState.Paused, _) => BulkJobState.Running,
            (BulkCommand.Cancel, BulkJobState.DryRun or BulkJobState.AwaitingApproval or BulkJobState.Running or BulkJobState.Paused, _) => BulkJobState.Cancelled,
            _ => null,
        };
        if (next is null)
        {
            return new BulkDecision(new Refusal(RefusalCode.IllegalTransition,
                $"a {job.Kind.ToString().ToLowerInvariant()} job that is {StateName(job.State)} cannot {command.ToString().ToLowerInvariant()}"), job.State);
        }

        return new BulkDecision(null, next.Value);
    }

    /// <summary>
    /// The action id of one record's replay or purge: the same for the same job and dead letter however often the runner
    /// gets to it (after a restart, say), so the action-id de-duplication publishes it at most once.
    /// </summary>
    public static Guid RecordActionId(Guid jobId, long deadLetterId)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"bulk:{jobId:D}:{deadLetterId}"));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }

    /// <summary>When the runner may take its next record: <paramref name="done"/> records after a (re)start at <paramref name="rate"/> per second.</summary>
    public static DateTimeOffset Due(DateTimeOffset runStart, int done, int rate) => runStart + TimeSpan.FromSeconds((double)done / rate);

    public static TimeSpan EstimatedDuration(int records, int rate) => TimeSpan.FromSeconds(Math.Ceiling((double)records / rate));

    public static string StateName(BulkJobState state) => state switch
    {
        BulkJobState.DryRun => "dry-run",
        BulkJobState.AwaitingApproval => "awaiting-approval",
        _ => state.ToString().ToLowerInvariant(),
    };

    public static BulkJobState? ParseState(string? name) =>
        Enum.GetValues<BulkJobState>().Cast<BulkJobState?>().FirstOrDefault(s => StateName(s!.Value) == name);
}
