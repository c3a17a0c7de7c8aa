using System.Text;
using System.Text.Json;
using Npgsql;
using Microsoft.Extensions.Options;
using NpgsqlTypes;
using OrderFlow.Domain.Sla;
using OrderFlow.Domain.Workflow;
using OrderFlow.Platform.Workflow;

namespace OrderFlow.Web.Orders;

/// <summary>The dead letter that stops an in-flight order (its latest one not yet replayed or purged), named wherever the order is.</summary>
public sealed record DeadLetterCause(long Id, string Topic, string? Reason, string? FailedService, DateTimeOffset FirstSeenAt);

public sealed record OrderSummary(
    string OrderId,
    string Status,
    string[] Positions,
    string? LastStep,
    string? LastFailure,
    DateTimeOffset? PlacedAt,
    DateTimeOffset FirstSeenAt,
    DateTimeOffset LastEventAt,
    DateTimeOffset UpdatedAt,
    int EventCount,
    int FlaggedCount,
    string SlaState,
    string? SlaScope,
    DateTimeOffset? SlaDueAt,
    DeadLetterCause? DeadLetter,
    int WorkflowVersion = 1)
{
    /// <summary>Why the order is not moving, in one line: its open failure, else the dead letter behind it.</summary>
    public string? StoppedBy => LastFailure ?? (DeadLetter is { } d ? $"dead letter on {d.Topic}: {d.Reason ?? "no reason given"}" : null);
}

/// <summary>One page of a search: <c>Total</c> counts matches up to <see cref="OrderQueries.CountCap"/>; <c>Next</c> continues it.</summary>
public sealed record OrderResults(IReadOnlyList<OrderSummary> Items, long Total, bool TotalIsCapped, string? Next);

public sealed record OrderEventView(
    long Id,
    Guid EventId,
    string Step,
    string Service,
    string Outcome,
    string? Reason,
    DateTimeOffset OccurredAt,
    DateTimeOffset IngestedAt,
    string Topic,
    int Partition,
    long Offset,
    string[] Flags,
    string? TraceId,
    JsonElement Attributes);

public sealed record LinkedRecord(long Id, string Topic, int Partition, long Offset, string? Reason, DateTimeOffset At, string Status);

public sealed record OrderDetail(OrderSummary Order, IReadOnlyList<OrderEventView> Events, IReadOnlyList<LinkedRecord> DeadLetters, IReadOnlyList<LinkedRecord> Quarantined);

/// <summary>
/// Read-only queries over orders for the screens and the JSON API, in SQL so each filter's plan is visible (docs/benchmarks.md).
/// Every value is a parameter. Paging is keyset on (first_seen_at, order_id), which an index serves for every filter.
/// An in-flight order's SLA state is read against the clock: breached as the SLA watcher recorded it, at-risk once
/// sla_at_risk_at has passed (decision 0011).
/// </summary>
public sealed class OrderQueries(NpgsqlDataSource dataSource, TimeProvider clock, OrderFlow.Platform.Workflow.WorkflowCatalog workflow, IOptions<AtRiskOptions> atRisk)
{
    public const int MaxPageSize = 500;

    /// <summary>Counting stops here: a search's count reads at most this many index entries.</summary>
    public const int CountCap = 1_000;

    private const string Columns =
        """
        o.order_id, o.status, o.positions, o.last_step, o.last_failure, o.placed_at, o.first_seen_at, o.last_event_at, o.updated_at,
        o.event_count, o.flagged_count,
        case when o.sla_state = 'breached' then 'breached' when o.status = 'in-progress' and o.sla_at_risk_at <= @now then 'at-risk' else 'on-track' end,
        o.sla_scope, o.sla_due_at,
        dl.id, dl.dlq_topic, dl.error_reason, dl.failed_service, dl.first_seen_at, o.workflow_version
        """;

    /// <summary>status = 'in-progress' in a form no index serves, for filters that a more selective index serves (decision 0023).</summary>
    private const string InFlightNotIndexed = "(o.status = 'in-progress') is true";

    private const string DeadLetterJoin =
        """
        left join lateral (
            select d.id, d.dlq_topic, d.error_reason, d.failed_service, d.first_seen_at from dead_letters d
            where o.status = 'in-progress' and d.order_id = o.order_id and d.status in ('new', 'skipped') order by d.first_seen_at desc limit 1) dl on true
        """;

    public async Task<OrderResults> SearchAsync(OrderSearch search, string? after, int take, CancellationToken cancellationToken = default)
    {
        take = Math.Clamp(take, 1, MaxPageSize);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var commands = SearchCommands(search, after, take, clock.GetUtcNow());
        await using var page = commands[0];
        page.Connection = connection;
        var items = await ReadSummariesAsync(page, cancellationToken);
        var more = items.Count > take;
        if (more)
        {
            items.RemoveAt(items.Count - 1);
        }

        long total = -1;
        if (commands.Count > 1)
        {
            await using var count = commands[1];
            count.Connection = connection;
            total = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        }

        var next = more ? new OrderCursor(items[^1].FirstSeenAt, items[^1].OrderId).ToString() : null;
        return new OrderResults(items, Math.Min(total, CountCap), total > CountCap, next);
    }

    /// <summary>The statements of a search: its page (take + 1 rows, to tell whether more follow) and, on the first page, the capped count.</summary>
    internal List<NpgsqlCommand> SearchCommands(OrderSearch search, string? after, int take, DateTimeOffset now)
    {
        var page = new NpgsqlCommand();
        var where = Where(search, page, now);
        var sort = search.EffectiveSort;
        if (OrderCursor.Parse(after) is { } cursor)
        {
            where.Add(sort switch
            {
                "id" => "o.order_id ~>~ @cursor_id",
                "oldest" => "(o.first_seen_at, o.order_id) > (@cursor_at, @cursor_id)",
                _ => "(o.first_seen_at, o.order_id) < (@cursor_at, @cursor_id)",
            });
            page.Parameters.AddWithValue("cursor_at", cursor.FirstSeenAt);
            page.Parameters.AddWithValue("cursor_id", cursor.OrderId);
        }

        // By id, in the order of the id-prefix index (byte order), so a prefix search reads only its own index range.
        var orderBy = sort switch
        {
            "id" => "o.order_id using ~<~",
            "oldest" => "o.first_seen_at, o.order_id",
            _ => "o.first_seen_at desc, o.order_id desc",
        };
        page.CommandText = $"""
            select {Columns}
            from (select * from orders o {WhereClause(where)} order by {orderBy} limit @take) o
            {DeadLetterJoin}
            order by {orderBy}
            """;
        page.Parameters.AddWithValue("take", take + 1);
        if (after is not null)
        {
            return [page];
        }

        var count = new NpgsqlCommand();
        count.CommandText = $"select count(*) from (select 1 from orders o {WhereClause(Where(search, count, now))} limit {CountCap + 1}) m";
        return [page, count];
    }

    public async Task<OrderDetail?> FindAsync(string orderId, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        var order = new NpgsqlBatchCommand($"select {Columns} from orders o {DeadLetterJoin} where o.order_id = @id");
        order.Parameters.AddWithValue("id", orderId);
        order.Parameters.AddWithValue("now", clock.GetUtcNow());
        var events = new NpgsqlBatchCommand(
            """
            select id, event_id, step, service, outcome, reason, occurred_at, ingested_at, topic, partition, "offset", flags, trace_id, attributes::text
            from order_events where order_id = @id order by occurred_at, id
            """);
        events.Parameters.AddWithValue("id", orderId);
        var deadLetters = new NpgsqlBatchCommand(
            """
            select id, dlq_topic, dlq_partition, dlq_offset, error_reason, first_seen_at, status
            from dead_letters where order_id = @id order by first_seen_at, id
            """);
        deadLetters.Parameters.AddWithValue("id", orderId);
        var quarantined = new NpgsqlBatchCommand(
            """
            select id, topic, partition, "offset", error, received_at, case when dismissed_at is null then 'quarantined' else 'dismissed' end
            from quarantined_records where key = @key order by received_at, id
            """);
        quarantined.Parameters.AddWithValue("key", NpgsqlDbType.Bytea, Encoding.UTF8.GetBytes(orderId));
        batch.BatchCommands.Add(order);
        batch.BatchCommands.Add(events);
        batch.BatchCommands.Add(deadLetters);
        batch.BatchCommands.Add(quarantined);

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        OrderSummary? summary = null;
        if (await reader.ReadAsync(cancellationToken))
        {
            summary = ReadSummary(reader);
        }

        await reader.NextResultAsync(cancellationToken);
        var eventViews = new List<OrderEventView>();
        while (await reader.ReadAsync(cancellationToken))
        {
            using var attributes = JsonDocument.Parse(reader.GetString(13));
            eventViews.Add(new OrderEventView(
                reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), NullableString(reader, 5),
                reader.GetFieldValue<DateTimeOffset>(6), reader.GetFieldValue<DateTimeOffset>(7), reader.GetString(8), reader.GetInt32(9), reader.GetInt64(10),
                reader.GetFieldValue<string[]>(11), NullableString(reader, 12), attributes.RootElement.Clone()));
        }

        await reader.NextResultAsync(cancellationToken);
        var linkedDeadLetters = await ReadLinkedAsync(reader, cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        var linkedQuarantine = await ReadLinkedAsync(reader, cancellationToken);
        return summary is null ? null : new OrderDetail(summary, eventViews, linkedDeadLetters, linkedQuarantine);
    }

    private List<string> Where(OrderSearch search, NpgsqlCommand command, DateTimeOffset now)
    {
        var where = new List<string>();
        command.Parameters.AddWithValue("now", now);
        if (search.Search is { } id)
        {
            where.Add("o.order_id like @prefix");
            command.Parameters.AddWithValue("prefix", EscapeLike(id) + "%");
        }

        if (search.Status is { } status)
        {
            where.Add("o.status = @status");
            command.Parameters.AddWithValue("status", status);
        }

        switch (search.Sla)
        {
            case SlaStateNames.Breached:
                where.Add("o.status = 'in-progress' and o.sla_state = 'breached'");
                break;
            case SlaStateNames.AtRisk:
                // The horizon removes no at-risk order; it lets the watch-time index find the candidates. "is true" keeps the
                // planner from intersecting them with the status index's every in-flight entry (slower than reading the rows).
                where.Add($"{InFlightNotIndexed} and o.sla_state <> 'breached' and o.sla_at_risk_at <= @now");
                where.Add("o.sla_watch_at <= @at_risk_horizon");
                command.Parameters.AddWithValue("at_risk_horizon", now + atRisk.Value.Horizon(workflow.Versions));
                break;
            case SlaStateNames.OnTrack:
                // An in-flight order that has not breached has a running clock, so it is watched: the watch-time index finds it.
                where.Add($"{InFlightNotIndexed} and o.sla_state <> 'breached' and (o.sla_at_risk_at is null or o.sla_at_risk_at > @now)");
                where.Add("o.sla_watch_at is not null");
                break;
        }

        if (search.Step is { } step)
        {
            // Beside at-risk or on-track the watch-time index finds the candidates; the status index would only add its every in-flight entry.
            var inFlight = search.Sla is SlaStateNames.AtRisk or SlaStateNames.OnTrack ? InFlightNotIndexed : "o.status = 'in-progress'";
            where.Add($"{inFlight} and o.positions @> array[@step]");
            command.Parameters.AddWithValue("step", step);
        }

        if (search.Failure)
        {
            where.Add("o.last_failure is not null");
        }

        if (search.DeadLetter)
        {
            where.Add("exists (select 1 from dead_letters d where d.order_id = o.order_id)");
        }

        if (search.Flagged)
        {
            where.Add("o.flagged_count > 0");
        }

        if (search.From is { } from)
        {
            where.Add("o.first_seen_at >= @from");
            command.Parameters.AddWithValue("from", from);
        }

        if (search.To is { } to)
        {
            where.Add("o.first_seen_at < @to");
            command.Parameters.AddWithValue("to", to);
        }

        return where;
    }

    private static string WhereClause(List<string> where) => where.Count == 0 ? "" : "where " + string.Join(" and ", where);

    private static async Task<List<OrderSummary>> ReadSummariesAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var items = new List<OrderSummary>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(ReadSummary(reader));
        }

        return items;
    }

    private static OrderSummary ReadSummary(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetFieldValue<string[]>(2), NullableString(r, 3), NullableString(r, 4), NullableTime(r, 5),
        r.GetFieldValue<DateTimeOffset>(6), r.GetFieldValue<DateTimeOffset>(7), r.GetFieldValue<DateTimeOffset>(8), r.GetInt32(9), r.GetInt32(10),
        r.GetString(11), NullableString(r, 12), NullableTime(r, 13),
        r.IsDBNull(14) ? null : new DeadLetterCause(r.GetInt64(14), r.GetString(15), NullableString(r, 16), NullableString(r, 17), r.GetFieldValue<DateTimeOffset>(18)),
        r.GetInt32(19));

    private static async Task<List<LinkedRecord>> ReadLinkedAsync(NpgsqlDataReader r, CancellationToken cancellationToken)
    {
        var list = new List<LinkedRecord>();
        while (await r.ReadAsync(cancellationToken))
        {
            list.Add(new LinkedRecord(r.GetInt64(0), r.GetString(1), r.GetInt32(2), r.GetInt64(3), NullableString(r, 4), r.GetFieldValue<DateTimeOffset>(5), r.GetString(6)));
        }

        return list;
    }

    internal static string? NullableString(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    internal static DateTimeOffset? NullableTime(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetFieldValue<DateTimeOffset>(i);

    private static string EscapeLike(string text) => text.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");
}
