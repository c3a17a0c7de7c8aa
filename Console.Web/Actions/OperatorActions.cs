using System.Security.Claims;
using Microsoft.Extensions.Options;
using Npgsql;
using OrderFlow.Domain.Actions;
using OrderFlow.Domain.Control;
using OrderFlow.Domain.DeadLetters;
using OrderFlow.Domain.Lag;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Workflow;
using OrderFlow.Platform.Kafka;
using OrderFlow.Platform.Outbox;
using OrderFlow.Platform.ReadModel;
using OrderFlow.Web.Auth;
using OrderFlow.Web.Bulk;

namespace OrderFlow.Web.Actions;

/// <summary>What happened to one request: accepted (now or before, for the same action id) or refused, and why.</summary>
public sealed record ActionOutcome(
    Guid ActionId, bool Accepted, string Message, [property: System.Text.Json.Serialization.JsonIgnore] RefusalCode? Refusal = null, bool Duplicate = false)
{
    /// <summary>The refusal's code by name (JSON: "refused"), null when accepted.</summary>
    public string? Refused => Refusal?.ToString();
}

/// <summary>
/// Every operator action takes one path (docs/architecture.md): the signed-in user's role is checked, the pure decider says
/// yes or why not, and one PostgreSQL transaction writes the audit row, the outbox message(s) and the dead letter's new
/// status. Console.Ingest's outbox publisher delivers the messages. The action id makes a repeat (double click, reload,
/// retry) return the first outcome and publish nothing more.
/// </summary>
public sealed class OperatorActions(NpgsqlDataSource dataSource, IOptions<ActionOptions> options, IOptions<KafkaOptions> kafka, TimeProvider clock)
{
    public Task<ActionOutcome> ReplayAsync(ClaimsPrincipal user, Guid actionId, long deadLetterId, string? reason, bool force, bool confirmed, CancellationToken ct = default) =>
        RunOnDeadLetterAsync(user, actionId, OperatorAction.Replay, deadLetterId, reason, ct, Replay(force, confirmed));

    public Task<ActionOutcome> PurgeAsync(ClaimsPrincipal user, Guid actionId, long deadLetterId, string? reason, CancellationToken ct = default) =>
        RunOnDeadLetterAsync(user, actionId, OperatorAction.Purge, deadLetterId, reason, ct, Purge);

    /// <summary>
    /// One record of a running bulk job, on the same path as a single action (audited as BulkReplay / BulkPurge) with the
    /// job's record row updated in the same transaction; null when the job is no longer running (paused, cancelled).
    /// </summary>
    public async Task<ActionOutcome?> TakeBulkRecordAsync(BulkRecordStep step, CancellationToken ct = default)
    {
        var outcome = await RunAsync(step.By, step.ActionId, BulkJobs.ActionOf(step.Kind), $"dead-letter:{step.DeadLetterId}", step.Reason, ct,
            OnDeadLetter(step.DeadLetterId, step.Kind == BulkKind.Replay ? Replay(step.Force, step.Confirmed) : Purge, ct), step);
        return outcome.Refusal == RefusalCode.IllegalTransition ? null : outcome;
    }

    private DeadLetterDecider Replay(bool force, bool confirmed) => async (connection, transaction, request, dl) =>
    {
        var retryTopic = options.Value.RetryTopics.GetValueOrDefault(dl.Facts.Topic);
        var group = await GroupStatusAsync(connection, transaction, options.Value.ConsumerGroups.GetValueOrDefault(dl.Facts.Topic), CancellationToken.None);
        var decision = DeadLetterReplay.Decide(request, dl.Facts, retryTopic, group, force, confirmed);
        var headers = new StoredHeaders([.. dl.Headers.Items, .. ReplayHeaders(request, dl.Facts)]);
        return (decision, decision.Accepted ? [OutboxMessage.Replay(retryTopic!, dl.Key, dl.Value, headers, request.ActionId)] : []);
    };

    private static Task<(Decision, IReadOnlyList<OutboxMessage>)> Purge(NpgsqlConnection connection, NpgsqlTransaction transaction, ActionRequest request, StoredDeadLetter dl) =>
        Task.FromResult((DeadLetterTriage.Purge(request, dl.Facts), (IReadOnlyList<OutboxMessage>)[]));

    public Task<ActionOutcome> SkipAsync(ClaimsPrincipal user, Guid actionId, long deadLetterId, string? note, CancellationToken ct = default) =>
        RunOnDeadLetterAsync(user, actionId, OperatorAction.Skip, deadLetterId, note, ct, Skip);

    /// <summary>
    /// What the server would say to this action now, without taking it (the transaction is rolled back): the page disables
    /// a button the state refuses (already replayed, order ended) and asks for confirmation where the guard wants one.
    /// Null when it would be accepted, or when there is no such target or no signed-in operator.
    /// </summary>
    public async Task<Refusal?> PreviewAsync(
        ClaimsPrincipal user, OperatorAction action, long? deadLetterId, string? orderId, bool force = false, bool confirmed = false, CancellationToken ct = default)
    {
        if (Operators.From(user) is not { } by)
        {
            return null;
        }

        Func<NpgsqlConnection, NpgsqlTransaction, ActionRequest, Task<Decided?>>? decide = (action, deadLetterId, orderId) switch
        {
            (OperatorAction.Replay, { } id, _) => OnDeadLetter(id, Replay(force, confirmed), ct),
            (OperatorAction.Purge, { } id, _) => OnDeadLetter(id, Purge, ct),
            (OperatorAction.Skip, { } id, _) => OnDeadLetter(id, Skip, ct),
            (OperatorAction.PaymentRetryOutreach, _, { } order) => OnOrder(order, (r, o) => PaymentRetryOutreach.Decide(r, o, PaymentRetryOutreachRequested.Channels[0]), ct),
            (OperatorAction.ManualExpiry, _, { } order) => OnOrder(order, ManualExpiry.Decide, ct),
            _ => null,
        };
        if (decide is null)
        {
            return null;
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var decided = await decide(connection, transaction, new ActionRequest(Guid.NewGuid(), by, clock.GetUtcNow(), "preview"));
        await transaction.RollbackAsync(ct);
        return decided?.Decision.Refusal;
    }

    private static Task<(Decision, IReadOnlyList<OutboxMessage>)> Skip(NpgsqlConnection connection, NpgsqlTransaction transaction, ActionRequest request, StoredDeadLetter dl) =>
        Task.FromResult((DeadLetterTriage.Skip(request, dl.Facts), (IReadOnlyList<OutboxMessage>)[]));

    public Task<ActionOutcome> OutreachAsync(ClaimsPrincipal user, Guid actionId, string orderId, string channel, string? reason, CancellationToken ct = default) =>
        RunOnOrderAsync(user, actionId, OperatorAction.PaymentRetryOutreach, orderId, reason, ct,
            (request, order) => PaymentRetryOutreach.Decide(request, order, channel));

    public Task<ActionOutcome> ExpireAsync(ClaimsPrincipal user, Guid actionId, string orderId, string? reason, CancellationToken ct = default) =>
        RunOnOrderAsync(user, actionId, OperatorAction.ManualExpiry, orderId, reason, ct, ManualExpiry.Decide);

    /// <summary>
    /// Dismisses the open quarantined records of one cause received until now (one arriving after stays open); nothing is
    /// published, the records are kept. Refused when none is open; "no such cause" when the cause was never seen.
    /// </summary>
    public Task<ActionOutcome> DismissQuarantinedAsync(ClaimsPrincipal user, Guid actionId, string? cause, string? reason, CancellationToken ct = default) =>
        RunAsync(user, actionId, OperatorAction.DismissQuarantined, $"quarantine-cause:{cause}", reason, ct, async (connection, transaction, request) =>
        {
            // Two dismissals of one cause take turns (the second finds nothing open and is refused, not "dismissed 0").
            await using var count = new NpgsqlCommand(
                """
                select pg_advisory_xact_lock(hashtextextended('quarantine-cause:' || @cause, 0));
                select count(*), count(*) filter (where dismissed_at is null and received_at <= @at)
                from quarantined_records where cause = @cause
                """, connection, transaction);
            count.Parameters.Add(new NpgsqlParameter<string?>("cause", cause) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            count.Parameters.AddWithValue("at", request.At);
            long all, open;
            await using (var reader = await count.ExecuteReaderAsync(ct))
            {
                await reader.NextResultAsync(ct); // past the lock's row
                await reader.ReadAsync(ct);
                (all, open) = (reader.GetInt64(0), reader.GetInt64(1));
            }

            if (all == 0)
            {
                return null;
            }

            var decision = QuarantineTriage.Dismiss(request, cause!, open);
            if (!decision.Accepted)
            {
                return new Decided(decision, null, [], DeadLetterChanged: false);
            }

            await using var dismiss = new NpgsqlCommand(
                """
                update quarantined_records set dismissed_at = @at, dismissed_by = @by, dismissed_action = @action
                where cause = @cause and dismissed_at is null and received_at <= @at
                """, connection, transaction);
            dismiss.Parameters.AddWithValue("cause", cause!);
            dismiss.Parameters.AddWithValue("at", request.At);
            dismiss.Parameters.AddWithValue("by", request.By.User);
            dismiss.Parameters.AddWithValue("action", request.ActionId);
            var dismissed = await dismiss.ExecuteNonQueryAsync(ct);
            return new Decided(decision, null, [], DeadLetterChanged: false, QuarantineChanged: true,
                Done: $"dismissed {dismissed:N0} quarantined {(dismissed == 1 ? "record" : "records")}");
        });

    /// <summary>The headers a replayed record carries after the original ones: who replayed it, and where it had been.</summary>
    public static IEnumerable<StoredHeader> ReplayHeaders(ActionRequest request, DeadLetterFacts dl)
    {
        static byte[] Utf8(string s) => System.Text.Encoding.UTF8.GetBytes(s);
        yield return new StoredHeader("replay-action-id", Utf8(request.ActionId.ToString("D")));
        yield return new StoredHeader("replay-actor", Utf8(request.By.User));
        yield return new StoredHeader("replay-dead-letter-id", Utf8(dl.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        yield return new StoredHeader("replay-original-topic", dl.SourceTopic is null ? null : Utf8(dl.SourceTopic));
        yield return new StoredHeader("replay-original-partition", dl.SourcePartition is { } p ? Utf8(p.ToString(System.Globalization.CultureInfo.InvariantCulture)) : null);
        yield return new StoredHeader("replay-original-offset", dl.SourceOffset is { } o ? Utf8(o.ToString(System.Globalization.CultureInfo.InvariantCulture)) : null);
    }

    internal sealed record StoredDeadLetter(DeadLetterFacts Facts, byte[]? Key, byte[]? Value, StoredHeaders Headers);

    internal delegate Task<(Decision Decision, IReadOnlyList<OutboxMessage> Extra)> DeadLetterDecider(
        NpgsqlConnection connection, NpgsqlTransaction transaction, ActionRequest request, StoredDeadLetter deadLetter);

    private Task<ActionOutcome> RunOnDeadLetterAsync(
        ClaimsPrincipal user, Guid actionId, OperatorAction action, long deadLetterId, string? reason, CancellationToken ct, DeadLetterDecider decide) =>
        RunAsync(user, actionId, action, $"dead-letter:{deadLetterId}", reason, ct, OnDeadLetter(deadLetterId, decide, ct));

    private static Func<NpgsqlConnection, NpgsqlTransaction, ActionRequest, Task<Decided?>> OnDeadLetter(long deadLetterId, DeadLetterDecider decide, CancellationToken ct) =>
        async (connection, transaction, request) =>
        {
            // Locked: two replays of one dead letter take turns, and the second sees it replayed.
            await using var command = new NpgsqlCommand(
                """
                select d.id, d.dlq_topic, d.source_topic, d.source_partition, d.source_offset, d.order_id, d.status, d.key, d.value, d.headers::text,
                       (select count(*)::int from dead_letters e where d.order_id is not null and e.order_id = d.order_id and e.id < d.id and e.status in ('new', 'skipped'))
                from dead_letters d where d.id = @id for update
                """, connection, transaction);
            command.Parameters.AddWithValue("id", deadLetterId);
            StoredDeadLetter dl;
            await using (var reader = await command.ExecuteReaderAsync(ct))
            {
                if (!await reader.ReadAsync(ct))
                {
                    return null;
                }

                dl = new StoredDeadLetter(
                    new DeadLetterFacts(reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                        reader.IsDBNull(3) ? null : reader.GetInt32(3), reader.IsDBNull(4) ? null : reader.GetInt64(4), reader.IsDBNull(5) ? null : reader.GetString(5),
                        DeadLetterStatusNames.Parse(reader.GetString(6)) ?? DeadLetterStatus.New, reader.GetInt32(10)),
                    reader.IsDBNull(7) ? null : reader.GetFieldValue<byte[]>(7), reader.IsDBNull(8) ? null : reader.GetFieldValue<byte[]>(8), StoredHeaders.Parse(reader.GetString(9)));
            }

            var (decision, extra) = await decide(connection, transaction, request, dl);
            if (decision.Accepted && decision.DeadLetterStatus is { } status)
            {
                await using var update = new NpgsqlCommand(
                    "update dead_letters set status = @status, status_changed_at = @at, status_changed_by = @by where id = @id", connection, transaction);
                update.Parameters.AddWithValue("status", status.ToName());
                update.Parameters.AddWithValue("at", request.At);
                update.Parameters.AddWithValue("by", request.By.User);
                update.Parameters.AddWithValue("id", deadLetterId);
                await update.ExecuteNonQueryAsync(ct);
            }

            return new Decided(decision, dl.Facts.OrderId, extra, DeadLetterChanged: decision.Accepted);
        };

    private Task<ActionOutcome> RunOnOrderAsync(
        ClaimsPrincipal user, Guid actionId, OperatorAction action, string orderId, string? reason, CancellationToken ct, Func<ActionRequest, OrderFacts, Decision> decide) =>
        RunAsync(user, actionId, action, $"order:{orderId}", reason, ct, OnOrder(orderId, decide, ct));

    private static Func<NpgsqlConnection, NpgsqlTransaction, ActionRequest, Task<Decided?>> OnOrder(string orderId, Func<ActionRequest, OrderFacts, Decision> decide, CancellationToken ct) =>
        async (connection, transaction, request) =>
        {
            await using var command = new NpgsqlCommand("select status, last_failure from orders where order_id = @id", connection, transaction);
            command.Parameters.AddWithValue("id", orderId);
            await using var reader = await command.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct))
            {
                return null;
            }

            var status = OrderStatusNames.Parse(reader.GetString(0)) ?? OrderStatus.InProgress;
            var failure = reader.IsDBNull(1) ? null : reader.GetString(1);
            var openFailureStep = failure?.Split(':', 2)[0];
            return new Decided(decide(request, new OrderFacts(orderId, status, openFailureStep)), orderId, [], DeadLetterChanged: false);
        };

    /// <param name="Done">What an accepted action did, in words (the answer and the audit row's detail); else "done".</param>
    internal sealed record Decided(
        Decision Decision, string? OrderId, IReadOnlyList<OutboxMessage> Extra, bool DeadLetterChanged, bool QuarantineChanged = false, string? Done = null);

    private async Task<ActionOutcome> RunAsync(
        ClaimsPrincipal user, Guid actionId, OperatorAction action, string target, string? reason, CancellationToken ct,
        Func<NpgsqlConnection, NpgsqlTransaction, ActionRequest, Task<Decided?>> decide)
    {
        // The server's check, whatever the page showed: no role, no action (and nothing recorded without an actor).
        if (Operators.From(user) is not { } by || !ActionPermissions.Allows(by.Role, action))
        {
            return new ActionOutcome(actionId, false, Operators.WhyNot(user, action) ?? "not permitted", RefusalCode.NotPermitted);
        }

        return await RunAsync(by, actionId, action, target, reason, ct, decide, bulk: null);
    }

    private async Task<ActionOutcome> RunAsync(
        Operator by, Guid actionId, OperatorAction action, string target, string? reason, CancellationToken ct,
        Func<NpgsqlConnection, NpgsqlTransaction, ActionRequest, Task<Decided?>> decide, BulkRecordStep? bulk)
    {
        if (!ActionPermissions.Allows(by.Role, action))
        {
            return new ActionOutcome(actionId, false, $"{by.Role} may not {Operators.Describe(action)}", RefusalCode.NotPermitted);
        }

        if (actionId == Guid.Empty)
        {
            return new ActionOutcome(actionId, false, "the action id is missing");
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (bulk is not null && !await bulk.StillRunningAsync(connection, transaction, ct))
        {
            return new ActionOutcome(actionId, false, "the job is not running", RefusalCode.IllegalTransition);
        }

        if (await AcceptedBeforeAsync(connection, transaction, actionId, ct) is { } earlier)
        {
            if (bulk is not null)
            {
                await bulk.RecordAsync(connection, transaction, earlier, request: null, ct);
                await transaction.CommitAsync(ct);
            }

            return earlier;
        }

        var request = new ActionRequest(actionId, by, clock.GetUtcNow(), reason);
        var decided = await decide(connection, transaction, request);
        if (decided is null)
        {
            return new ActionOutcome(actionId, false, $"no {target.Replace(":", " ", StringComparison.Ordinal)} in the read model");
        }

        var decision = decided.Decision;
        var messages = new List<OutboxMessage>(decided.Extra);
        if (decision.Accepted && decision.Command is { } command)
        {
            messages.Add(OutboxMessage.For(command, kafka.Value.ControlTopic) with { ActionId = actionId });
        }

        await AuditAsync(connection, transaction, new AuditRow(actionId, request.At, by, action, target, decided.OrderId, reason,
            decision.Accepted, decision.Refusal?.Message ?? decided.Done, messages.Count), ct);

        if (!decision.Accepted)
        {
            // A refusal is recorded under a new id, so the operator can fix the request and send it again with its own id.
            var refused = new ActionOutcome(actionId, false, decision.Refusal!.Message, decision.Refusal.Code);
            if (bulk is not null)
            {
                await bulk.RecordAsync(connection, transaction, refused, request, ct);
            }

            await transaction.CommitAsync(ct);
            return refused;
        }

        foreach (var message in messages)
        {
            await OutboxQueue.EnqueueAsync(connection, transaction, message, request.At, ct);
        }

        var accepted = new ActionOutcome(actionId, true, decided.Done ?? (messages.Count == 0 ? "done" : $"accepted: {messages.Count} message(s) queued for Kafka"));
        if (bulk is not null)
        {
            await bulk.RecordAsync(connection, transaction, accepted, request, ct);
        }

        await new ChangeNotification
        {
            Actions = 1,
            DeadLetters = decided.DeadLetterChanged ? 1 : 0,
            Quarantined = decided.QuarantineChanged ? 1 : 0,
        }.SendAsync(connection, transaction, ct);
        await transaction.CommitAsync(ct);
        return accepted;
    }

    /// <summary>One row of the append-only audit trail, written in the transaction of what it records.</summary>
    internal sealed record AuditRow(
        Guid ActionId, DateTimeOffset At, Operator By, OperatorAction Action, string Target, string? OrderId, string? Reason, bool Accepted, string? Detail, int Messages);

    internal static async Task AuditAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, AuditRow row, CancellationToken ct)
    {
        await using var audit = new NpgsqlCommand(
            """
            insert into action_audit (action_id, at, actor, role, action, target, order_id, reason, result, detail, messages)
            values (@id, @at, @actor, @role, @action, @target, @order, @reason, @result, @detail, @messages)
            """, connection, transaction);
        audit.Parameters.AddWithValue("id", row.ActionId);
        audit.Parameters.AddWithValue("at", row.At);
        audit.Parameters.AddWithValue("actor", row.By.User);
        audit.Parameters.AddWithValue("role", row.By.Role.ToString());
        audit.Parameters.AddWithValue("action", row.Action.ToString());
        audit.Parameters.AddWithValue("target", row.Target);
        audit.Parameters.Add(new NpgsqlParameter<string?>("order", row.OrderId) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        audit.Parameters.Add(new NpgsqlParameter<string?>("reason", row.Reason) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        audit.Parameters.AddWithValue("result", row.Accepted ? "accepted" : "refused");
        audit.Parameters.Add(new NpgsqlParameter<string?>("detail", row.Detail) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        audit.Parameters.AddWithValue("messages", row.Messages);
        await audit.ExecuteNonQueryAsync(ct);
    }

    private static async Task<ActionOutcome?> AcceptedBeforeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid actionId, CancellationToken ct)
    {
        // Waits for a concurrent transaction that inserted the same id (the unique index), then sees its row.
        await using var command = new NpgsqlCommand("select pg_advisory_xact_lock(hashtextextended(@id::text, 0)); ", connection, transaction);
        command.Parameters.AddWithValue("id", actionId);
        await command.ExecuteNonQueryAsync(ct);
        await using var existing = new NpgsqlCommand("select action, target from action_audit where action_id = @id and result = 'accepted'", connection, transaction);
        existing.Parameters.AddWithValue("id", actionId);
        await using var reader = await existing.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? new ActionOutcome(actionId, true, $"already accepted ({reader.GetString(0)} {reader.GetString(1)}): nothing sent again", Duplicate: true)
            : null;
    }

    internal static async Task<LagStatus?> GroupStatusAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string? group, CancellationToken ct)
    {
        if (group is null)
        {
            return null;
        }

        await using var command = new NpgsqlCommand("select status from consumer_lag_status where consumer_group = @group", connection, transaction);
        command.Parameters.AddWithValue("group", group);
        await using var reader = await command.ExecuteReaderAsync(ct);
        LagStatus? worst = null;
        while (await reader.ReadAsync(ct))
        {
            if (Enum.TryParse<LagStatus>(reader.GetString(0), ignoreCase: true, out var status) && status is LagStatus.Stall or LagStatus.Stop)
            {
                worst = worst == LagStatus.Stop ? worst : status;
            }
        }

        return worst;
    }
}
