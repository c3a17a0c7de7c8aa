using Npgsql;
using OrderFlow.Domain.Control;
using OrderFlow.Domain.Events;
using OrderFlow.Platform.ReadModel;

namespace OrderFlow.Platform.Outbox;

/// <summary>
/// A record to publish, queued in PostgreSQL in the transaction of the change that calls for it; Console.Ingest's outbox
/// publisher delivers it with the idempotent producer. The dedupe key makes queuing it again a no-op while the row is kept.
/// </summary>
public sealed record OutboxMessage(string Topic, string Key, byte[] Value, StoredHeaders Headers, string DedupeKey)
{
    /// <summary>The operator action that queued it (its deliveries are then recorded for the audit trail).</summary>
    public Guid? ActionId { get; init; }

    /// <summary>
    /// Set for a record sent again byte for byte (a replay): its key is these bytes (null = no key), not <see cref="Key"/>,
    /// which then only names it for people.
    /// </summary>
    public RawKey? Raw { get; init; }

    /// <summary>A dead letter's original record, to the retry topic, with its headers and the replay headers after them.</summary>
    public static OutboxMessage Replay(string retryTopic, byte[]? key, byte[]? value, StoredHeaders headers, Guid actionId) =>
        new(retryTopic, key is null ? "" : ForPeople(key), value ?? [], headers, "replay:" + actionId.ToString("D"))
        {
            ActionId = actionId,
            Raw = new RawKey(key),
        };

    /// <summary>A raw key as text for the key column (PostgreSQL text holds no NUL): control characters become U+FFFD.</summary>
    private static string ForPeople(byte[] key) =>
        string.Concat(System.Text.Encoding.UTF8.GetString(key).Select(c => char.IsControl(c) ? '\uFFFD' : c));

    /// <summary>An operator's command for the control topic, once per command id.</summary>
    public static OutboxMessage For(ControlEvent command, string controlTopic) =>
        new(controlTopic, command.Key, ControlEventCodec.Serialize(command), StoredHeaders.None, "control:" + command.CommandId.ToString("D"));

    /// <summary>An operational event the console itself reports (its key is the order id).</summary>
    public static OutboxMessage For(OperationalEvent e, string operationalTopic, string dedupeKey) =>
        new(operationalTopic, e.OrderId, OperationalEventCodec.Serialize(e), StoredHeaders.None, dedupeKey);
}

/// <summary>A record key as bytes, null for a record without a key.</summary>
public sealed record RawKey(byte[]? Bytes);

/// <summary>The one way into the outbox table.</summary>
public static class OutboxQueue
{
    /// <summary>Queues the message inside the caller's transaction; false when its dedupe key is queued already.</summary>
    public static async Task<bool> EnqueueAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, OutboxMessage message, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            insert into outbox (topic, key, value, headers, dedupe_key, created_at, action_id, key_is_raw, raw_key)
            values (@topic, @key, @value, @headers::jsonb, @dedupe, @now, @action, @raw, @rawKey)
            on conflict (dedupe_key) do nothing
            """,
            connection,
            transaction);
        command.Parameters.AddWithValue("topic", message.Topic);
        command.Parameters.AddWithValue("key", message.Key);
        command.Parameters.AddWithValue("value", message.Value);
        command.Parameters.AddWithValue("headers", message.Headers.ToJson());
        command.Parameters.AddWithValue("dedupe", message.DedupeKey);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.Add(new NpgsqlParameter<Guid?>("action", message.ActionId) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        command.Parameters.AddWithValue("raw", message.Raw is not null);
        command.Parameters.Add(new NpgsqlParameter<byte[]?>("rawKey", message.Raw?.Bytes) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }
}
