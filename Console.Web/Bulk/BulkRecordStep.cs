using Npgsql;
using OrderFlow.Domain.Actions;
using OrderFlow.Web.Actions;

namespace OrderFlow.Web.Bulk;

/// <summary>
/// One record of a running bulk job as the runner hands it to <see cref="OperatorActions.TakeBulkRecordAsync"/>: the
/// action's transaction first checks that the job still runs (holding its row against a concurrent pause or cancel), and
/// ends by writing the record's result, so the action and the result commit together.
/// </summary>
public sealed record BulkRecordStep(Guid JobId, int Seq, long DeadLetterId, BulkKind Kind, Operator By, string Reason, bool Force, bool Confirmed)
{
    public Guid ActionId => BulkJobs.RecordActionId(JobId, DeadLetterId);

    internal async Task<bool> StillRunningAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("select state from bulk_jobs where id = @id for share", connection, transaction);
        command.Parameters.AddWithValue("id", JobId);
        return await command.ExecuteScalarAsync(ct) is string state && state == BulkJobs.StateName(BulkJobState.Running);
    }

    internal async Task RecordAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ActionOutcome outcome, ActionRequest? request, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            "update bulk_job_records set state = @state, detail = @detail, processed_at = coalesce(@at, now()) where job_id = @job and seq = @seq",
            connection, transaction);
        command.Parameters.AddWithValue("state", outcome.Accepted ? "done" : "refused");
        command.Parameters.AddWithValue("detail", outcome.Message);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?>("at", request?.At) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.AddWithValue("job", JobId);
        command.Parameters.AddWithValue("seq", Seq);
        await command.ExecuteNonQueryAsync(ct);
    }
}
