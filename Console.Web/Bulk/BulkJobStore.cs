using System.Security.Claims;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using OrderFlow.Domain.Actions;
using OrderFlow.Domain.Lag;
using OrderFlow.Platform.ReadModel;
using OrderFlow.Web.Actions;
using OrderFlow.Web.Auth;
using OrderFlow.Web.DeadLetters;

namespace OrderFlow.Web.Bulk;

/// <summary>
/// Which dead letters a job takes: picked by hand (<see cref="DeadLetterIds"/>), or every open one matching the
/// dead-letter page's filters and, for a group, its <see cref="Cause"/>.
/// </summary>
public sealed record BulkSelection(
    long[]? DeadLetterIds = null, string? Topic = null, string? Service = null, string? Error = null, string? OrderId = null,
    string? Status = null, DateTimeOffset? From = null, string? Cause = null)
{
    public DeadLetterFilter Filter => new(Topic, Service, Error, OrderId, Status, From);

    public string Describe() =>
        DeadLetterIds is { Length: > 0 } ids
            ? $"{ids.Length} dead letter(s) picked by hand"
            : string.Join(", ", new[] { ("cause", Cause), ("topic", Topic), ("service", Service), ("error contains", Error), ("order", OrderId), ("status", Status), ("since", From?.ToString("u", System.Globalization.CultureInfo.InvariantCulture)) }
                .Where(p => !string.IsNullOrWhiteSpace(p.Item2)).Select(p => $"{p.Item1} {p.Item2}")) is { Length: > 0 } described ? described : "every open dead letter";
}

/// <summary>A request for a new job (docs/api.md, Bulk jobs). JobId makes a repeat return the job created first.</summary>
public sealed record BulkJobRequest(Guid JobId, string? Reason, BulkSelection? Selection, int? Rate = null, bool Force = false, bool Confirmed = false, long[]? DeadLetterIds = null);

/// <summary>What the job would do, shown before it runs.</summary>
public sealed record BulkDryRun(
    int Records, int Orders, int LeftOut, IReadOnlyList<string> TargetTopics, IReadOnlyList<string> Violations, int EstimatedSeconds);

public sealed record BulkJobView(
    Guid Id, string Kind, string State, string Selection, string Reason, bool Force, bool Confirmed, int Rate,
    string RequestedBy, DateTimeOffset CreatedAt, string? ApprovedBy, DateTimeOffset? ApprovedAt, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt,
    BulkDryRun DryRun, int Done, int Refused, int Pending)
{
    public int Total => Done + Refused + Pending;
}

public sealed record BulkRecordResult(int Seq, long DeadLetterId, string Topic, string? OrderId, string State, string? Detail, Guid ActionId, DateTimeOffset? ProcessedAt, string? Delivery);

/// <summary>An answer to a job request or command: accepted with the job, or refused (and why), or no such job.</summary>
public sealed record BulkOutcome(bool Accepted, string Message, [property: System.Text.Json.Serialization.JsonIgnore] RefusalCode? Refusal = null, BulkJobView? Job = null, bool NotFound = false)
{
    public string? Refused => Refusal?.ToString();
}

/// <summary>
/// Bulk jobs in PostgreSQL (decision 0021): creating one (the dry run), moving it on (start, approve, pause, resume,
/// cancel; each checked by <see cref="BulkJobs.Decide"/> and audited), and reading jobs with their per-record results.
/// The records themselves are taken by <see cref="BulkJobRunner"/>.
/// </summary>
public sealed class BulkJobStore(NpgsqlDataSource dataSource, IOptions<BulkOptions> bulk, IOptions<ActionOptions> actions, TimeProvider clock)
{
    public const int MaxResults = 1000;

    /// <summary>Raised after a command commits (the runner wakes up; pages reload).</summary>
    public event Action? Changed;

    public async Task<BulkOutcome> CreateAsync(ClaimsPrincipal user, BulkKind kind, BulkJobRequest body, CancellationToken ct = default)
    {
        var action = BulkJobs.ActionOf(kind);
        if (Operators.From(user) is not { } by || !ActionPermissions.Allows(by.Role, action))
        {
            return new BulkOutcome(false, Operators.WhyNot(user, action) ?? "not permitted", RefusalCode.NotPermitted);
        }

        var selection = body.Selection ?? new BulkSelection(body.DeadLetterIds);
        var rate = body.Rate ?? bulk.Value.DefaultRate;
        if (body.JobId == Guid.Empty)
        {
            return new BulkOutcome(false, "the job id is missing");
        }

        if (string.IsNullOrWhiteSpace(body.Reason))
        {
            return new BulkOutcome(false, "a reason is required", RefusalCode.ReasonRequired);
        }

        if (rate < 1 || rate > bulk.Value.MaxRate)
        {
            return new BulkOutcome(false, $"the rate must be between 1 and {bulk.Value.MaxRate} records per second");
        }

        if (body.Force && kind != BulkKind.Replay)
        {
            return new BulkOutcome(false, "force applies to replays only");
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var existing = new NpgsqlCommand("select 1 from bulk_jobs where id = @id", connection, transaction))
        {
            existing.Parameters.AddWithValue("id", body.JobId);
            if (await existing.ExecuteScalarAsync(ct) is not null)
            {
                return new BulkOutcome(true, "already created: nothing done again", Job: await FindAsync(connection, transaction, body.JobId, ct));
            }
        }

        var (ids, leftOut, missing) = await SelectAsync(connection, transaction, selection, ct);
        if (missing is { } unknown)
        {
            return new BulkOutcome(false, $"no dead letter {unknown}", NotFound: true);
        }

        if (ids.Count == 0)
        {
            return new BulkOutcome(false, $"no open dead letter matches ({selection.Describe()}; {leftOut} already replayed or purged)", RefusalCode.DeadLetterClosed);
        }

        if (ids.Count > bulk.Value.MaxRecords)
        {
            return new BulkOutcome(false, $"{ids.Count} dead letters match; a job takes at most {bulk.Value.MaxRecords} (Bulk:MaxRecords): narrow the selection");
        }

        var now = clock.GetUtcNow();
        await using (var insert = new NpgsqlCommand(
            """
            insert into bulk_jobs (id, kind, state, selection, reason, force, confirmed, rate, requested_by, requested_role, created_at, updated_at, dry_run)
            values (@id, @kind, 'dry-run', @selection, @reason, @force, @confirmed, @rate, @by, @role, @now, @now, '{}');
            insert into bulk_job_records (job_id, seq, dead_letter_id, action_id)
            select @id, s.ord::int, s.dl, s.action from unnest(@ids::bigint[], @actions::uuid[]) with ordinality s(dl, action, ord);
            """, connection, transaction))
        {
            insert.Parameters.AddWithValue("id", body.JobId);
            insert.Parameters.AddWithValue("kind", kind.ToString().ToLowerInvariant());
            insert.Parameters.AddWithValue("selection", selection.Describe());
            insert.Parameters.AddWithValue("reason", body.Reason.Trim());
            insert.Parameters.AddWithValue("force", body.Force);
            insert.Parameters.AddWithValue("confirmed", body.Confirmed);
            insert.Parameters.AddWithValue("rate", rate);
            insert.Parameters.AddWithValue("by", by.User);
            insert.Parameters.AddWithValue("role", by.Role.ToString());
            insert.Parameters.AddWithValue("now", now);
            insert.Parameters.AddWithValue("ids", ids.ToArray());
            insert.Parameters.AddWithValue("actions", ids.Select(id => BulkJobs.RecordActionId(body.JobId, id)).ToArray());
            await insert.ExecuteNonQueryAsync(ct);
        }

        var dryRun = await DryRunAsync(connection, transaction, body.JobId, kind, rate, leftOut, body.Force, body.Confirmed, ct);
        await using (var save = new NpgsqlCommand("update bulk_jobs set dry_run = @dry::jsonb where id = @id", connection, transaction))
        {
            save.Parameters.AddWithValue("dry", JsonSerializer.Serialize(dryRun));
            save.Parameters.AddWithValue("id", body.JobId);
            await save.ExecuteNonQueryAsync(ct);
        }

        await OperatorActions.AuditAsync(connection, transaction, new OperatorActions.AuditRow(
            Guid.NewGuid(), now, by, action, Target(body.JobId), null, body.Reason, true, $"dry run: {dryRun.Records} record(s), {selection.Describe()}", 0), ct);
        await new ChangeNotification { Actions = 1 }.SendAsync(connection, transaction, ct);
        await transaction.CommitAsync(ct);
        Changed?.Invoke();
        return new BulkOutcome(true, $"dry run: {dryRun.Records} record(s)", Job: await FindAsync(body.JobId, ct));
    }

    public async Task<BulkOutcome> ControlAsync(ClaimsPrincipal user, Guid jobId, BulkCommand command, CancellationToken ct = default)
    {
        // The server's gate before anything is read: approving needs ApproveBulkPurge, the rest a bulk action.
        OperatorAction[] gate = command == BulkCommand.Approve ? [OperatorAction.ApproveBulkPurge] : [OperatorAction.BulkReplay, OperatorAction.BulkPurge];
        if (Operators.From(user) is not { } by || !gate.Any(a => ActionPermissions.Allows(by.Role, a)))
        {
            return new BulkOutcome(false, Operators.WhyNot(user, gate[0]) ?? "not permitted", RefusalCode.NotPermitted);
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        BulkJobFacts job;
        await using (var read = new NpgsqlCommand("select kind, state, requested_by from bulk_jobs where id = @id for update", connection, transaction))
        {
            read.Parameters.AddWithValue("id", jobId);
            await using var reader = await read.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct))
            {
                return new BulkOutcome(false, $"no bulk job {jobId}", NotFound: true);
            }

            job = new BulkJobFacts(jobId, reader.GetString(0) == "purge" ? BulkKind.Purge : BulkKind.Replay,
                BulkJobs.ParseState(reader.GetString(1)) ?? BulkJobState.Finished, reader.GetString(2));
        }

        var now = clock.GetUtcNow();
        var decision = BulkJobs.Decide(command, new ActionRequest(Guid.NewGuid(), by, now, null), job);
        var action = command == BulkCommand.Approve ? OperatorAction.ApproveBulkPurge : BulkJobs.ActionOf(job.Kind);
        var verb = command.ToString().ToLowerInvariant();
        await OperatorActions.AuditAsync(connection, transaction, new OperatorActions.AuditRow(
            Guid.NewGuid(), now, by, action, Target(jobId), null, verb, decision.Accepted,
            decision.Refusal?.Message ?? $"{verb}: {BulkJobs.StateName(job.State)} → {BulkJobs.StateName(decision.Next)}", 0), ct);
        if (decision.Accepted)
        {
            await using var update = new NpgsqlCommand(
                """
                update bulk_jobs set state = @state, updated_at = @now,
                       approved_by = case when @approve then @by else approved_by end,
                       approved_at = case when @approve then @now else approved_at end,
                       started_at = case when @state = 'running' then coalesce(started_at, @now) else started_at end,
                       ended_at = case when @state = 'cancelled' then @now else ended_at end
                where id = @id
                """, connection, transaction);
            update.Parameters.AddWithValue("state", BulkJobs.StateName(decision.Next));
            update.Parameters.AddWithValue("now", now);
            update.Parameters.AddWithValue("approve", command == BulkCommand.Approve);
            update.Parameters.AddWithValue("by", by.User);
            update.Parameters.AddWithValue("id", jobId);
            await update.ExecuteNonQueryAsync(ct);
        }

        await new ChangeNotification { Actions = 1 }.SendAsync(connection, transaction, ct);
        await transaction.CommitAsync(ct);
        Changed?.Invoke();
        var view = await FindAsync(jobId, ct);
        return decision.Accepted
            ? new BulkOutcome(true, $"{verb}: the job is {BulkJobs.StateName(decision.Next)}", Job: view)
            : new BulkOutcome(false, decision.Refusal!.Message, decision.Refusal.Code, view);
    }

    /// <summary>The runner's end of a job: every record has a result.</summary>
    public async Task<bool> FinishAsync(Guid jobId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using var command = new NpgsqlCommand(
            """
            update bulk_jobs set state = 'finished', ended_at = @now, updated_at = @now
            where id = @id and state = 'running' and not exists (select 1 from bulk_job_records r where r.job_id = @id and r.state = 'pending')
            """, connection, transaction);
        command.Parameters.AddWithValue("now", clock.GetUtcNow());
        command.Parameters.AddWithValue("id", jobId);
        var finished = await command.ExecuteNonQueryAsync(ct) == 1;
        await new ChangeNotification { Actions = 1 }.SendAsync(connection, transaction, ct);
        await transaction.CommitAsync(ct);
        Changed?.Invoke();
        return finished;
    }

    public async Task<IReadOnlyList<BulkJobView>> ListAsync(int take, CancellationToken ct = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        return await ReadJobsAsync(connection, null, "true order by j.created_at desc limit @take", c => c.Parameters.AddWithValue("take", Math.Clamp(take, 1, 500)), ct);
    }

    public async Task<BulkJobView?> FindAsync(Guid jobId, CancellationToken ct = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        return await FindAsync(connection, null, jobId, ct);
    }

    /// <summary>A job's per-record results in order (those with a result first when <paramref name="processedOnly"/>).</summary>
    public async Task<IReadOnlyList<BulkRecordResult>> ResultsAsync(Guid jobId, string? state, int take, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand(
            """
            select r.seq, r.dead_letter_id, d.dlq_topic, d.order_id, r.state, r.detail, r.action_id, r.processed_at,
                   case when r.state <> 'done' then null
                        when not exists (select 1 from outbox o where o.action_id = r.action_id and o.published_at is null) then 'delivered'
                        else 'pending' end
            from bulk_job_records r join dead_letters d on d.id = r.dead_letter_id
            where r.job_id = @id and (@state is null or r.state = @state)
            order by r.seq limit @take
            """);
        command.Parameters.AddWithValue("id", jobId);
        command.Parameters.Add(new NpgsqlParameter<string?>("state", string.IsNullOrWhiteSpace(state) ? null : state) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.AddWithValue("take", Math.Clamp(take, 1, MaxResults));
        var list = new List<BulkRecordResult>();
        await using var r = await command.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            list.Add(new BulkRecordResult(r.GetInt32(0), r.GetInt64(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetString(4),
                r.IsDBNull(5) ? null : r.GetString(5), r.GetGuid(6), r.IsDBNull(7) ? null : r.GetFieldValue<DateTimeOffset>(7), r.IsDBNull(8) ? null : r.GetString(8)));
        }

        return list;
    }

    private static string Target(Guid jobId) => $"bulk-job:{jobId:D}";

    private static async Task<(List<long> Ids, int LeftOut, long? Missing)> SelectAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, BulkSelection selection, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand { Connection = connection, Transaction = transaction };
        string where;
        if (selection.DeadLetterIds is { Length: > 0 } picked)
        {
            await using var known = new NpgsqlCommand("select min(p) from unnest(@ids::bigint[]) p where not exists (select 1 from dead_letters d where d.id = p)", connection, transaction);
            known.Parameters.AddWithValue("ids", picked);
            if (await known.ExecuteScalarAsync(ct) is long missing)
            {
                return ([], 0, missing);
            }

            where = "where d.id = any(@ids)";
            command.Parameters.AddWithValue("ids", picked);
        }
        else
        {
            where = DeadLetterQueries.Where(selection.Filter, command);
            if (selection.Cause is { } cause)
            {
                where += (where.Length == 0 ? "where " : " and ") + "d.cause = @cause";
                command.Parameters.AddWithValue("cause", cause);
            }
        }

        // Oldest first: earlier dead letters of an order are replayed before its later ones.
        command.CommandText = $"select d.id, d.status in ('new', 'skipped') from dead_letters d {where} order by d.id";
        var ids = new List<long>();
        var leftOut = 0;
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            if (reader.GetBoolean(1))
            {
                ids.Add(reader.GetInt64(0));
            }
            else
            {
                leftOut++;
            }
        }

        return (ids, leftOut, null);
    }

    private async Task<BulkDryRun> DryRunAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid jobId, BulkKind kind, int rate, int leftOut, bool force, bool confirmed, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            """
            select d.dlq_topic, count(*)::int, count(distinct d.order_id)::int,
                   count(*) filter (where exists (
                       select 1 from dead_letters e where d.order_id is not null and e.order_id = d.order_id and e.id < d.id and e.status in ('new', 'skipped')
                         and not exists (select 1 from bulk_job_records o where o.job_id = r.job_id and o.dead_letter_id = e.id)))::int,
                   (select count(distinct d2.order_id)::int from bulk_job_records r2 join dead_letters d2 on d2.id = r2.dead_letter_id where r2.job_id = @id)
            from bulk_job_records r join dead_letters d on d.id = r.dead_letter_id
            where r.job_id = @id
            group by d.dlq_topic order by d.dlq_topic
            """, connection, transaction);
        command.Parameters.AddWithValue("id", jobId);
        var perTopic = new List<(string Topic, int Records, int OutOfOrder)>();
        var records = 0;
        var orders = 0;
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                perTopic.Add((reader.GetString(0), reader.GetInt32(1), reader.GetInt32(3)));
                records += reader.GetInt32(1);
                orders = reader.GetInt32(4);
            }
        }

        var targets = new SortedSet<string>();
        var violations = new List<string>();
        foreach (var (topic, count, outOfOrder) in perTopic)
        {
            if (kind == BulkKind.Purge)
            {
                continue;
            }

            if (actions.Value.RetryTopics.GetValueOrDefault(topic) is not { } retry)
            {
                violations.Add($"{count} record(s) from {topic}, which has no retry topic (Actions:RetryTopics): refused");
                continue;
            }

            targets.Add(retry);
            if (outOfOrder > 0)
            {
                violations.Add($"{outOfOrder} record(s) from {topic} have an earlier dead letter of their order waiting outside this job: " +
                    (force ? "replayed out of order (forced)" : "refused (replaying out of order breaks per-key ordering)"));
            }

            if (actions.Value.ConsumerGroups.GetValueOrDefault(topic) is { } group
                && await OperatorActions.GroupStatusAsync(connection, transaction, group, ct) is { } status)
            {
                violations.Add($"{group} (reads {retry}) is {status.ToString().ToUpperInvariant()}: " +
                    (confirmed ? "replayed anyway (confirmed)" : $"its {count} record(s) refused unless confirmed"));
            }
        }

        if (kind == BulkKind.Purge)
        {
            targets.Add("dead-letter-purged control events");
        }

        return new BulkDryRun(records, orders, leftOut, [.. targets], violations, (int)BulkJobs.EstimatedDuration(records, rate).TotalSeconds);
    }

    private static async Task<BulkJobView?> FindAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid jobId, CancellationToken ct) =>
        (await ReadJobsAsync(connection, transaction, "j.id = @id", c => c.Parameters.AddWithValue("id", jobId), ct)).FirstOrDefault();

    private static async Task<IReadOnlyList<BulkJobView>> ReadJobsAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string where, Action<NpgsqlCommand> parameters, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
            select j.id, j.kind, j.state, j.selection, j.reason, j.force, j.confirmed, j.rate, j.requested_by, j.created_at, j.approved_by, j.approved_at,
                   j.started_at, j.ended_at, j.dry_run::text,
                   (select count(*) filter (where r.state = 'done')::int from bulk_job_records r where r.job_id = j.id),
                   (select count(*) filter (where r.state = 'refused')::int from bulk_job_records r where r.job_id = j.id),
                   (select count(*) filter (where r.state = 'pending')::int from bulk_job_records r where r.job_id = j.id)
            from bulk_jobs j where {where}
            """, connection, transaction);
        parameters(command);
        var list = new List<BulkJobView>();
        await using var r = await command.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            DateTimeOffset? Time(int i) => r.IsDBNull(i) ? null : r.GetFieldValue<DateTimeOffset>(i);
            list.Add(new BulkJobView(r.GetGuid(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetBoolean(5), r.GetBoolean(6), r.GetInt32(7),
                r.GetString(8), r.GetFieldValue<DateTimeOffset>(9), r.IsDBNull(10) ? null : r.GetString(10), Time(11), Time(12), Time(13),
                JsonSerializer.Deserialize<BulkDryRun>(r.GetString(14)) ?? new BulkDryRun(0, 0, 0, [], [], 0), r.GetInt32(15), r.GetInt32(16), r.GetInt32(17)));
        }

        return list;
    }

    /// <summary>The role and reason a running job acts with, for the runner.</summary>
    internal static async Task<(BulkKind Kind, Operator By, string Reason, bool Force, bool Confirmed, int Rate, string State)?> RunFactsAsync(
        NpgsqlConnection connection, Guid jobId, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("select kind, requested_by, requested_role, reason, force, confirmed, rate, state from bulk_jobs where id = @id", connection);
        command.Parameters.AddWithValue("id", jobId);
        await using var r = await command.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct))
        {
            return null;
        }

        return (r.GetString(0) == "purge" ? BulkKind.Purge : BulkKind.Replay, new Operator(r.GetString(1), Enum.Parse<OperatorRole>(r.GetString(2))),
            r.GetString(3), r.GetBoolean(4), r.GetBoolean(5), r.GetInt32(6), r.GetString(7));
    }
}
