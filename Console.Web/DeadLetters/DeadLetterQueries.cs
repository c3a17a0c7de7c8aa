using Npgsql;
using OrderFlow.Web.Orders;

namespace OrderFlow.Web.DeadLetters;

/// <summary>Filters of the dead-letter page, all in its URL.</summary>
public sealed record DeadLetterFilter(string? Topic, string? Service, string? Error, string? OrderId, string? Status, DateTimeOffset? From)
{
    public static readonly string[] Statuses = [.. OrderFlow.Domain.DeadLetters.DeadLetterStatusNames.All];

    public string ToQuery(params (string Key, string? Value)[] extra)
    {
        var parts = new List<(string, string?)> { ("topic", Topic), ("service", Service), ("error", Error), ("order", OrderId), ("status", Status), ("from", From?.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture)) };
        parts.AddRange(extra);
        var query = string.Join("&", parts.Where(p => !string.IsNullOrEmpty(p.Item2)).Select(p => $"{p.Item1}={Uri.EscapeDataString(p.Item2!)}"));
        return query.Length == 0 ? "" : "?" + query;
    }
}

/// <summary>Dead letters sharing a normalised cause (numbers, ids and quoted values taken out of the error, as ServicePulse groups).</summary>
public sealed record DeadLetterGroup(string Cause, long Count, DateTimeOffset FirstSeen, DateTimeOffset LastSeen, string[] Topics, string[] Services, string? Example, long Orders);

public sealed record DeadLetterSummary(long Id, string Topic, int Partition, long Offset, string? OrderId, string? Reason, string? FailedService, string Status, DateTimeOffset FirstSeenAt);

public sealed record DeadLetterRecord(
    long Id, string Topic, int Partition, long Offset, DateTimeOffset? KafkaTimestamp, byte[]? Key, byte[]? Value, string HeadersJson,
    string? SourceTopic, int? SourcePartition, long? SourceOffset, string? Reason, string? FailedService, string? OrderId, DateTimeOffset FirstSeenAt,
    string Status, string Cause, bool OrderKnown);

public sealed class DeadLetterQueries(NpgsqlDataSource dataSource)
{
    public const int MaxRows = 200;

    public async Task<IReadOnlyList<DeadLetterGroup>> GroupsAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default)
    {
        await using var command = new NpgsqlCommand();
        var where = Where(filter, command);
        command.CommandText = $"""
            select cause, count(*), min(first_seen_at), max(first_seen_at), array_agg(distinct dlq_topic), array_agg(distinct coalesce(failed_service, '')),
                   min(error_reason), count(distinct order_id)
            from dead_letters d {where}
            group by cause order by count(*) desc, cause limit 500
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        command.Connection = connection;
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<DeadLetterGroup>();
        while (await r.ReadAsync(cancellationToken))
        {
            list.Add(new DeadLetterGroup(r.GetString(0), r.GetInt64(1), r.GetFieldValue<DateTimeOffset>(2), r.GetFieldValue<DateTimeOffset>(3),
                r.GetFieldValue<string[]>(4), r.GetFieldValue<string[]>(5).Where(s => s.Length > 0).ToArray(), OrderQueries.NullableString(r, 6), r.GetInt64(7)));
        }

        return list;
    }

    public async Task<IReadOnlyList<DeadLetterSummary>> ListAsync(DeadLetterFilter filter, string? cause, CancellationToken cancellationToken = default)
    {
        await using var command = new NpgsqlCommand();
        var where = Where(filter, command);
        if (cause is not null)
        {
            where += (where.Length == 0 ? "where " : " and ") + "cause = @cause";
            command.Parameters.AddWithValue("cause", cause);
        }

        command.CommandText = $"""
            select id, dlq_topic, dlq_partition, dlq_offset, order_id, error_reason, failed_service, status, first_seen_at
            from dead_letters d {where} order by first_seen_at desc, id desc limit {MaxRows}
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        command.Connection = connection;
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<DeadLetterSummary>();
        while (await r.ReadAsync(cancellationToken))
        {
            list.Add(new DeadLetterSummary(r.GetInt64(0), r.GetString(1), r.GetInt32(2), r.GetInt64(3), OrderQueries.NullableString(r, 4),
                OrderQueries.NullableString(r, 5), OrderQueries.NullableString(r, 6), r.GetString(7), r.GetFieldValue<DateTimeOffset>(8)));
        }

        return list;
    }

    public async Task<DeadLetterRecord?> FindAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            """
            select id, dlq_topic, dlq_partition, dlq_offset, kafka_timestamp, key, value, headers::text, source_topic, source_partition, source_offset,
                   error_reason, failed_service, order_id, first_seen_at, status, cause,
                   exists (select 1 from orders o where o.order_id = d.order_id)
            from dead_letters d where id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        if (!await r.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new DeadLetterRecord(
            r.GetInt64(0), r.GetString(1), r.GetInt32(2), r.GetInt64(3), OrderQueries.NullableTime(r, 4),
            r.IsDBNull(5) ? null : r.GetFieldValue<byte[]>(5), r.IsDBNull(6) ? null : r.GetFieldValue<byte[]>(6), r.GetString(7),
            OrderQueries.NullableString(r, 8), r.IsDBNull(9) ? null : r.GetInt32(9), r.IsDBNull(10) ? null : r.GetInt64(10),
            OrderQueries.NullableString(r, 11), OrderQueries.NullableString(r, 12), OrderQueries.NullableString(r, 13), r.GetFieldValue<DateTimeOffset>(14),
            r.GetString(15), r.GetString(16), r.GetBoolean(17));
    }

    /// <summary>The topics and services seen, for the filters' choices.</summary>
    public async Task<(string[] Topics, string[] Services)> ChoicesAsync(CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            "select coalesce(array_agg(distinct dlq_topic), '{}'), coalesce(array_agg(distinct failed_service) filter (where failed_service is not null), '{}') from dead_letters");
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        await r.ReadAsync(cancellationToken);
        return (r.GetFieldValue<string[]>(0), r.GetFieldValue<string[]>(1));
    }

    internal static string Where(DeadLetterFilter filter, NpgsqlCommand command)
    {
        var where = new List<string>();
        void Add(string sql, string name, object value)
        {
            where.Add(sql);
            command.Parameters.AddWithValue(name, value);
        }

        if (filter.Topic is { } topic) { Add("d.dlq_topic = @topic", "topic", topic); }
        if (filter.Service is { } service) { Add("d.failed_service = @service", "service", service); }
        if (filter.Error is { } error) { Add("d.error_reason ilike @error escape '\\'", "error", "%" + error.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%"); }
        if (filter.OrderId is { } order) { Add("d.order_id = @order", "order", order); }
        if (filter.Status is { } status) { Add("d.status = @status", "status", status); }
        if (filter.From is { } from) { Add("d.first_seen_at >= @from", "from", from); }
        return where.Count == 0 ? "" : "where " + string.Join(" and ", where);
    }
}
