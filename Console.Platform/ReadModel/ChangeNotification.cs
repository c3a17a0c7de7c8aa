using System.Text;
using System.Text.Json;
using Npgsql;

namespace OrderFlow.Platform.ReadModel;

/// <summary>
/// What one committed write changed in the read model: the payload of the NOTIFY every writer sends on
/// <see cref="ReadModelDb.ChangesChannel"/> inside its transaction, so the console hears of it exactly when it becomes
/// visible. Written only through <see cref="Command"/> and read only through <see cref="Parse"/>.
/// </summary>
public sealed record ChangeNotification
{
    /// <summary>NOTIFY payloads must stay under 8000 bytes: order ids are listed while the payload stays under this.</summary>
    internal const int MaxPayloadBytes = 7500;

    /// <summary>Operational events folded.</summary>
    public int Events { get; init; }

    /// <summary>Orders whose row changed (by the projection, or by the SLA watcher).</summary>
    public int Orders { get; init; }

    /// <summary>Ids of the changed orders; fewer than <see cref="Orders"/> when they did not all fit (then see <see cref="OrderFilter"/>).</summary>
    public IReadOnlyList<string> OrderIds { get; init; } = [];

    /// <summary>
    /// When the ids did not all fit: every changed order in a Bloom filter (<see cref="OrderIdFilter"/>), sent instead of
    /// them. Null when all ids fit, or from a writer that did not send one (then any order may have changed).
    /// </summary>
    public OrderIdFilter? OrderFilter { get; init; }

    /// <summary>Records quarantined (unreadable, or refused by PostgreSQL).</summary>
    public int Quarantined { get; init; }

    /// <summary>Dead letters stored.</summary>
    public int DeadLetters { get; init; }

    /// <summary>Orders whose SLA deadline the watcher judged (breached, or moved on).</summary>
    public int Sla { get; init; }

    /// <summary>Consumer-lag partitions evaluated.</summary>
    public int Lag { get; init; }

    /// <summary>Operator actions recorded.</summary>
    public int Actions { get; init; }

    /// <summary>Workflow versions stored or changes refused (decision 0022).</summary>
    public int Workflow { get; init; }

    /// <summary>True when the payload could not be read (or nothing was heard for a while): anything may have changed.</summary>
    public bool Unknown { get; init; }

    /// <summary>Every changed order is named in <see cref="OrderIds"/>.</summary>
    public bool AllOrderIds => OrderIds.Count == Orders;

    /// <summary>Whether this order may have changed: named, or in the filter, or nothing says it did not.</summary>
    public bool MayConcernOrder(string orderId) =>
        Orders > 0 && (AllOrderIds ? OrderIds.Contains(orderId) : OrderFilter?.MightContain(orderId) ?? true);

    public static ChangeNotification Anything { get; } = new() { Unknown = true };

    public static string Channel => ReadModelDb.ChangesChannel;

    /// <summary>The NOTIFY as a command of the writer's own batch (it belongs in the transaction of the change).</summary>
    public NpgsqlBatchCommand Command()
    {
        var notify = new NpgsqlBatchCommand("select pg_notify(@channel, @payload)");
        notify.Parameters.AddWithValue("channel", Channel);
        notify.Parameters.AddWithValue("payload", ToPayload());
        return notify;
    }

    /// <summary>Sends the NOTIFY inside the caller's transaction.</summary>
    public async Task SendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection, transaction) { BatchCommands = { Command() } };
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The ids while they all fit under <see cref="MaxPayloadBytes"/>; otherwise none of them and every one in <see cref="OrderFilter"/>.</summary>
    public string ToPayload() => Write(OrderIds, null) ?? Write([], OrderIdFilter.Of(OrderIds))!;

    /// <summary>Null when the ids do not all fit.</summary>
    private string? Write(IReadOnlyList<string> orderIds, OrderIdFilter? filter)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("events", Events);
            w.WriteNumber("orders", Orders);
            w.WriteNumber("quarantined", Quarantined);
            w.WriteNumber("deadLetters", DeadLetters);
            w.WriteNumber("sla", Sla);
            w.WriteNumber("lag", Lag);
            w.WriteNumber("actions", Actions);
            w.WriteNumber("workflow", Workflow);
            if (filter is not null)
            {
                w.WriteString("orderFilter", filter.ToBase64());
            }

            w.WriteStartArray("orderIds");
            foreach (var id in orderIds)
            {
                // The worst case of an id escaped, plus the closing brackets: stop before the payload could not be sent.
                if (w.BytesCommitted + w.BytesPending + (Encoding.UTF8.GetMaxByteCount(id.Length) * 6) + 8 > MaxPayloadBytes)
                {
                    return null;
                }

                w.WriteStringValue(id);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Reads a payload; one that is not a change notification reads as <see cref="Anything"/>.</summary>
    public static ChangeNotification Parse(string payload)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Anything;
            }

            var ids = root.TryGetProperty("orderIds", out var list) && list.ValueKind == JsonValueKind.Array
                ? list.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToArray()
                : [];
            return new ChangeNotification
            {
                Events = Count(root, "events"),
                Orders = Count(root, "orders"),
                OrderIds = ids,
                OrderFilter = root.TryGetProperty("orderFilter", out var filter) && filter.ValueKind == JsonValueKind.String
                    ? OrderIdFilter.FromBase64(filter.GetString()!)
                    : null,
                Quarantined = Count(root, "quarantined"),
                DeadLetters = Count(root, "deadLetters"),
                Sla = Count(root, "sla"),
                Lag = Count(root, "lag"),
                Actions = Count(root, "actions"),
                Workflow = Count(root, "workflow"),
            };
        }
        catch (JsonException)
        {
            return Anything;
        }
    }

    private static int Count(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) ? n : 0;
}
