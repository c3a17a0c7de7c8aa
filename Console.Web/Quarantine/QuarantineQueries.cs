using Npgsql;
using OrderFlow.Web.Orders;

namespace OrderFlow.Web.Quarantine;

/// <summary>Who dismissed a quarantined record, when, and the audited action that did (docs/api.md, Actions).</summary>
public sealed record QuarantineDismissal(DateTimeOffset At, string By, Guid ActionId);

public sealed record QuarantinedSummary(long Id, string Topic, int Partition, long Offset, string? KeyText, string Error, DateTimeOffset ReceivedAt, string Cause, QuarantineDismissal? Dismissed = null);

public sealed record QuarantinedRecord(
    long Id, string Topic, int Partition, long Offset, byte[]? Key, byte[]? Value, string HeadersJson, string Error, DateTimeOffset ReceivedAt, string? OrderId,
    string Cause = "", QuarantineDismissal? Dismissed = null);

/// <summary>
/// Quarantined records of one cause (the error's shape, PostgreSQL's <c>console_error_cause</c>): how many, how many of them
/// are open (not dismissed), where, when, one full reason.
/// </summary>
public sealed record QuarantineCause(string Cause, long Count, IReadOnlyList<string> Topics, DateTimeOffset FirstSeen, DateTimeOffset LastSeen, string Example, long Open = 0);

/// <summary>
/// Records Console.Ingest refused (could not read as operational events): grouped by cause, and listed newest first. Open
/// records only (not dismissed) unless asked to include the dismissed ones.
/// </summary>
public sealed class QuarantineQueries(NpgsqlDataSource dataSource)
{
    public const int MaxRows = 500;

    /// <summary>The causes of the records the filters match, largest first (at most <see cref="MaxRows"/> causes).</summary>
    public async Task<IReadOnlyList<QuarantineCause>> CausesAsync(string? topic, string? error, bool includeDismissed = false, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            select cause, count(*), array_agg(distinct topic order by topic), min(received_at), max(received_at), min(error), count(*) filter (where dismissed_at is null)
            from quarantined_records
            where {Where(includeDismissed)}
            group by cause order by count(*) desc, cause limit {MaxRows}
            """);
        AddFilters(command, topic, error, null);
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<QuarantineCause>();
        while (await r.ReadAsync(cancellationToken))
        {
            list.Add(new QuarantineCause(r.GetString(0), r.GetInt64(1), r.GetFieldValue<string[]>(2), r.GetFieldValue<DateTimeOffset>(3), r.GetFieldValue<DateTimeOffset>(4), r.GetString(5), r.GetInt64(6)));
        }

        return list;
    }

    /// <summary>The newest <paramref name="limit"/> records the filters match (one cause, or every one when <paramref name="cause"/> is null).</summary>
    public async Task<IReadOnlyList<QuarantinedSummary>> ListAsync(
        string? topic, string? error, string? cause = null, int limit = MaxRows, bool includeDismissed = false, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var command = dataSource.CreateCommand(
            $"""
            select id, topic, partition, "offset", case when key is null then null else encode(key, 'escape') end, error, received_at, cause,
                   dismissed_at, dismissed_by, dismissed_action
            from quarantined_records
            where {Where(includeDismissed)}
            order by received_at desc, id desc limit $4
            """);
        AddFilters(command, topic, error, cause);
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<QuarantinedSummary>();
        while (await r.ReadAsync(cancellationToken))
        {
            list.Add(new QuarantinedSummary(r.GetInt64(0), r.GetString(1), r.GetInt32(2), r.GetInt64(3), OrderQueries.NullableString(r, 4), r.GetString(5), r.GetFieldValue<DateTimeOffset>(6), r.GetString(7),
                Dismissal(r, 8)));
        }

        return list;
    }

    /// <summary>The filters; open records only unless the dismissed ones are wanted (written out, so the partial index of open records serves it).</summary>
    private static string Where(bool includeDismissed) =>
        "($1::text is null or topic = $1) and ($2::text is null or error ilike '%' || $2 || '%') and ($3::text is null or cause = $3)"
        + (includeDismissed ? "" : " and dismissed_at is null");

    private static QuarantineDismissal? Dismissal(NpgsqlDataReader r, int first) => r.IsDBNull(first)
        ? null
        : new QuarantineDismissal(r.GetFieldValue<DateTimeOffset>(first), r.GetString(first + 1), r.GetGuid(first + 2));

    private static void AddFilters(NpgsqlCommand command, string? topic, string? error, string? cause)
    {
        static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text };
        command.Parameters.Add(Text(topic));
        command.Parameters.Add(Text(error?.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_")));
        command.Parameters.Add(Text(cause));
    }

    /// <summary>How many records of one cause are open, on every topic (what dismissing the cause takes).</summary>
    public async Task<long> OpenCountAsync(string cause, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("select count(*) from quarantined_records where cause = $1 and dismissed_at is null");
        command.Parameters.Add(new NpgsqlParameter { Value = cause });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<QuarantinedRecord?> FindAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            """
            select q.id, q.topic, q.partition, q."offset", q.key, q.value, q.headers::text, q.error, q.received_at, o.order_id,
                   q.cause, q.dismissed_at, q.dismissed_by, q.dismissed_action
            from quarantined_records q left join orders o on o.order_id = encode(q.key, 'escape')
            where q.id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        if (!await r.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new QuarantinedRecord(r.GetInt64(0), r.GetString(1), r.GetInt32(2), r.GetInt64(3),
            r.IsDBNull(4) ? null : r.GetFieldValue<byte[]>(4), r.IsDBNull(5) ? null : r.GetFieldValue<byte[]>(5), r.GetString(6), r.GetString(7),
            r.GetFieldValue<DateTimeOffset>(8), OrderQueries.NullableString(r, 9), r.GetString(10), Dismissal(r, 11));
    }
}
