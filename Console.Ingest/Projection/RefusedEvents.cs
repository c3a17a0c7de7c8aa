using Npgsql;
using NpgsqlTypes;

namespace OrderFlow.Ingest.Projection;

/// <summary>
/// After PostgreSQL refused a batch's data (SQLSTATE class 22, for example a value its text or jsonb cannot hold that
/// the codec let through): each event's values offered to PostgreSQL on their own, as the batch writes them; the events
/// it refuses, with its reason. Slow (one round trip per event), and only on that path.
/// </summary>
public sealed class RefusedEvents(NpgsqlDataSource dataSource)
{
    /// <summary>SQLSTATE class 22: a value PostgreSQL cannot take (not a fault of the connection or the server).</summary>
    public static bool IsDataException(Exception ex) => ex is PostgresException pg && pg.SqlState.StartsWith("22", StringComparison.Ordinal);

    public async Task<List<(ParsedEvent Event, string Error)>> FindAsync(ParsedBatch batch, CancellationToken cancellationToken)
    {
        var refused = new List<(ParsedEvent, string)>();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var check = new NpgsqlCommand(
            "select @order_id::text, @step::text, @service::text, @reason::text, @trace_id::text, @attributes::jsonb", connection);
        var parameters = new[] { "order_id", "step", "service", "reason", "trace_id", "attributes" }
            .Select(name => check.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Text))).ToArray();
        foreach (var parsed in batch.Events)
        {
            var (record, e) = parsed;
            object?[] values = [e.OrderId, e.Step, e.Service, e.Reason, EventRows.TraceId(record.Message.Headers), e.AttributesJson];
            for (var i = 0; i < values.Length; i++)
            {
                parameters[i].Value = values[i] ?? DBNull.Value;
            }

            try
            {
                await check.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException ex) when (IsDataException(ex))
            {
                refused.Add((parsed, $"PostgreSQL refused the event: {ex.MessageText}{(ex.Detail is { Length: > 0 } detail ? $" ({detail})" : "")}"));
            }
        }

        return refused;
    }
}
