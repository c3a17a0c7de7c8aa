using Npgsql;

namespace OrderFlow.Web.Actions;

/// <summary>Where one of an action's messages landed in Kafka.</summary>
public sealed record ActionDelivery(string Topic, int Partition, long Offset, DateTimeOffset PublishedAt);

/// <summary>
/// One audit row with its deliveries (pending until every message it queued is delivered) and, for a replay or an
/// outreach, what became of the order since.
/// </summary>
public sealed record AuditEntry(
    long Id, Guid ActionId, DateTimeOffset At, string Actor, string Role, string Action, string Target, string? OrderId, string? Reason,
    string Result, string? Detail, int Messages, IReadOnlyList<ActionDelivery> Deliveries, string? Outcome)
{
    public string Delivery => Result != "accepted" ? "" : Messages == 0 ? Detail ?? "nothing to send" : Deliveries.Count >= Messages ? "delivered" : "pending";
}

/// <summary>A dead-letter group's replays: accepted, recovered since, still failing after Actions:OutcomeAfter (the rest are watched).</summary>
public sealed record GroupReplays(int Replays, int Recovered, int StillFailing);

public sealed record AuditFilter(string? Actor, string? Action, string? Target)
{
    public static AuditFilter None { get; } = new(null, null, null);
}

/// <summary>Reads the audit trail (append-only) and the deliveries the outbox publisher recorded.</summary>
public sealed class ActionQueries(NpgsqlDataSource dataSource, Microsoft.Extensions.Options.IOptions<ActionOptions> options, TimeProvider clock)
{
    public const int MaxRows = 1000;

    /// <summary>The step the dead letter <c>dl</c> blocked (Actions:BlockedSteps) has since succeeded for its order.</summary>
    private const string StepSucceeded =
        "exists (select 1 from unnest(@dlqs::text[], @steps::text[]) m(dlq, step) join order_steps s on s.order_id = dl.order_id and s.step = m.step where m.dlq = dl.dlq_topic)";

    private const string Select =
        $"""
        select a.id, a.action_id, a.at, a.actor, a.role, a.action, a.target, a.order_id, a.reason, a.result, a.detail, a.messages,
               coalesce((select json_agg(json_build_array(d.topic, d.partition, d."offset", d.published_at) order by d.id)::text
                         from action_deliveries d where d.action_id = a.action_id and a.result = 'accepted'), '[]'),
               -- A replay is recovered once the step its dead letter blocked has succeeded for the order; still failing after Actions:OutcomeAfter.
               case when a.action in ('Replay', 'BulkReplay') and a.result = 'accepted' then
                   case when exists (select 1 from dead_letters dl where dl.id = substring(a.target from 13)::bigint and {StepSucceeded})
                             or exists (select 1 from orders o where o.order_id = a.order_id and o.status = 'completed') then 'recovered'
                        when a.at < @now - @after then 'still failing'
                        else 'watching' end
                    -- An outreach's outcome: the order paid, its payment failed again after the outreach, or it expired.
                    when a.action = 'PaymentRetryOutreach' and a.result = 'accepted' then
                        (select case when o.status = 'expired' then 'expired'
                                     when exists (select 1 from order_steps s where s.order_id = o.order_id and s.step = 'payment-authorized') then 'paid'
                                     when o.last_failure like 'payment-authorized:%' and o.last_event_at > a.at then 'failed again'
                                     else 'waiting' end
                         from orders o where o.order_id = a.order_id)
               end
        from action_audit a
        """;

    public async Task<IReadOnlyList<AuditEntry>> AuditAsync(AuditFilter filter, int take, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand(Select + """
             where (@actor is null or a.actor ilike '%' || @actor || '%')
               and (@action is null or a.action = @action)
               and (@target is null or a.target ilike '%' || @target || '%' or a.order_id ilike '%' || @target || '%')
             order by a.id desc limit @take
            """);
        command.Parameters.Add(new NpgsqlParameter<string?>("actor", Blank(filter.Actor)) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string?>("action", Blank(filter.Action)) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string?>("target", Blank(filter.Target)) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.AddWithValue("take", Math.Clamp(take, 1, MaxRows));
        return await ReadAsync(command, ct);
    }

    /// <summary>The actions on one order (order page), or on one dead letter, newest first.</summary>
    public async Task<IReadOnlyList<AuditEntry>> ForTargetAsync(string? orderId, long? deadLetterId, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand(Select + " where a.order_id = @order or a.target = @target order by a.id desc limit 100");
        command.Parameters.Add(new NpgsqlParameter<string?>("order", orderId) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string?>("target", deadLetterId is { } id ? $"dead-letter:{id}" : null) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        return await ReadAsync(command, ct);
    }

    public async Task<AuditEntry?> FindAsync(Guid actionId, CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand(Select + " where a.action_id = @id order by (a.result = 'accepted') desc, a.id desc limit 1");
        command.Parameters.AddWithValue("id", actionId);
        return (await ReadAsync(command, ct)).FirstOrDefault();
    }

    /// <summary>Per dead-letter cause: accepted replays (single and bulk), how many recovered, how many are still failing.</summary>
    public async Task<IReadOnlyDictionary<string, GroupReplays>> ReplaysByCauseAsync(CancellationToken ct = default)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            select dl.cause, count(*)::int, count(*) filter (where r.recovered)::int, count(*) filter (where not r.recovered and a.at < @now - @after)::int
            from action_audit a
            join dead_letters dl on a.target = 'dead-letter:' || dl.id
            cross join lateral (select {StepSucceeded}
                or exists (select 1 from orders o where o.order_id = dl.order_id and o.status = 'completed') as recovered) r
            where a.action in ('Replay', 'BulkReplay') and a.result = 'accepted' and a.target like 'dead-letter:%'
            group by dl.cause
            """);
        AddOutcomeParameters(command);
        var byCause = new Dictionary<string, GroupReplays>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            byCause[reader.GetString(0)] = new GroupReplays(reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3));
        }

        return byCause;
    }

    private void AddOutcomeParameters(NpgsqlCommand command)
    {
        command.Parameters.AddWithValue("dlqs", options.Value.BlockedSteps.Keys.ToArray());
        command.Parameters.AddWithValue("steps", options.Value.BlockedSteps.Values.ToArray());
        command.Parameters.AddWithValue("now", clock.GetUtcNow());
        command.Parameters.AddWithValue("after", options.Value.OutcomeAfter);
    }

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private async Task<IReadOnlyList<AuditEntry>> ReadAsync(NpgsqlCommand command, CancellationToken ct)
    {
        AddOutcomeParameters(command);
        var rows = new List<AuditEntry>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var deliveries = System.Text.Json.JsonDocument.Parse(reader.GetString(12)).RootElement.EnumerateArray()
                .Select(d => new ActionDelivery(d[0].GetString()!, d[1].GetInt32(), d[2].GetInt64(), d[3].GetDateTimeOffset()))
                .ToList();
            rows.Add(new AuditEntry(reader.GetInt64(0), reader.GetGuid(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5), reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetString(8),
                reader.GetString(9), reader.IsDBNull(10) ? null : reader.GetString(10), reader.GetInt32(11), deliveries, reader.IsDBNull(13) ? null : reader.GetString(13)));
        }

        return rows;
    }

    /// <summary>The audit rows as CSV (RFC 4180; a cell starting with = + - @ is prefixed with ' so spreadsheets do not run it).</summary>
    public static string ToCsv(IEnumerable<AuditEntry> entries)
    {
        static string Cell(string? s)
        {
            s ??= "";
            if (s.Length > 0 && "=+-@\t\r".Contains(s[0], StringComparison.Ordinal))
            {
                s = "'" + s;
            }

            return "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        }

        var csv = new System.Text.StringBuilder("at,actor,role,action,target,order,reason,result,detail,delivery,published,outcome\r\n");
        foreach (var e in entries)
        {
            var published = string.Join(" ", e.Deliveries.Select(d => $"{d.Topic}[{d.Partition}]@{d.Offset}"));
            csv.AppendJoin(',', new[] { e.At.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture), e.Actor, e.Role, e.Action, e.Target, e.OrderId, e.Reason, e.Result, e.Detail, e.Delivery, published, e.Outcome }.Select(Cell));
            csv.Append("\r\n");
        }

        return csv.ToString();
    }
}
