using Npgsql;
using OrderFlow.Web.Orders;

namespace OrderFlow.Web.Quarantine;

public sealed record QuarantinedSummary(long Id, string Topic, int Partition, long Offset, string? KeyText, string Error, DateTimeOffset ReceivedAt);

public sealed record QuarantinedRecord(long Id, string Topic, int Partition, long Offset, byte[]? Key, byte[]? Value, string HeadersJson, string Error, DateTimeOffset ReceivedAt, string? OrderId);

/// <summary>Records Console.Ingest refused (could not read as operational events), newest first.</summary>
public sealed class QuarantineQueries(NpgsqlDataSource dataSource)
{
    public const int MaxRows = 500;

    public async Task<IReadOnlyList<QuarantinedSummary>> ListAsync(string? topic, string? error, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            select id, topic, partition, "offset", case when key is null then null else encode(key, 'escape') end, error, received_at
            from quarantined_records
            where ($1::text is null or topic = $1) and ($2::text is null or error ilike '%' || $2 || '%')
            order by received_at desc, id desc limit {MaxRows}
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)topic ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)error?.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<QuarantinedSummary>();
        while (await r.ReadAsync(cancellationToken))
        {
            list.Add(new QuarantinedSummary(r.GetInt64(0), r.GetString(1), r.GetInt32(2), r.GetInt64(3), OrderQueries.NullableString(r, 4), r.GetString(5), r.GetFieldValue<DateTimeOffset>(6)));
        }

        return list;
    }

    public async Task<QuarantinedRecord?> FindAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            """
            select q.id, q.topic, q.partition, q."offset", q.key, q.value, q.headers::text, q.error, q.received_at, o.order_id
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
            r.GetFieldValue<DateTimeOffset>(8), OrderQueries.NullableString(r, 9));
    }
}
