using System.Globalization;
using System.Text;
using System.Text.Json;
using OrderFlow.Domain.Events;

namespace OrderFlow.Domain.Control;

/// <summary>
/// Reads and writes the public JSON contract of control events (docs/control-events.md). Strict: a record that breaks
/// a rule is refused with one line saying which rule, in the order the documentation lists the checks.
/// </summary>
public static class ControlEventCodec
{
    public const int MaxPayloadBytes = 16 * 1024;
    public const int MaxIdLength = 128;


    public static byte[] Serialize(ControlEvent e)
    {
        _ = e.Key; // refuses an order command without an orderId before anything is written
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", e.SchemaVersion);
            w.WriteString("commandId", e.CommandId.ToString("D"));
            w.WriteString("type", e.Type);
            if (e.OrderId is not null)
            {
                w.WriteString("orderId", e.OrderId);
            }

            w.WriteStartObject("requestedBy");
            w.WriteString("user", e.RequestedBy.User);
            w.WriteString("role", e.RequestedBy.Role);
            w.WriteEndObject();
            w.WriteString("requestedAt", e.RequestedAt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
            w.WriteString("reason", e.Reason);
            w.WriteStartObject("data");
            switch (e.Data)
            {
                case PaymentRetryOutreachRequested outreach:
                    w.WriteString("channel", outreach.Channel);
                    break;
                case DeadLetterCommand dl:
                    w.WriteNumber("deadLetterId", dl.DeadLetterId);
                    w.WriteString("deadLetterTopic", dl.DeadLetterTopic);
                    WriteNullable(w, "sourceTopic", dl.SourceTopic);
                    WriteNullable(w, "sourcePartition", dl.SourcePartition);
                    WriteNullable(w, "sourceOffset", dl.SourceOffset);
                    if (dl is DeadLetterReplayed replayed)
                    {
                        w.WriteString("retryTopic", replayed.RetryTopic);
                    }

                    break;
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Parses a record of the control topic; on failure says why in one line meant for a person.</summary>
    public static bool TryParse(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, out ControlEvent? parsed, out string error)
    {
        parsed = null;
        if (!JsonPayload.TryOpen(value, MaxPayloadBytes, out var document, out error))
        {
            return false;
        }

        using (document)
        {
            return TryRead(document!.RootElement, key, out parsed, out error);
        }
    }

    private static bool TryRead(JsonElement root, ReadOnlySpan<byte> key, out ControlEvent? parsed, out string error)
    {
        parsed = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "payload is not a JSON object";
            return false;
        }

        if (!TryGetInt32(root, "schemaVersion", "schemaVersion", out var version, out error))
        {
            return false;
        }

        if (version != ControlEvent.CurrentSchemaVersion)
        {
            error = $"unknown schemaVersion {version} (this console reads {ControlEvent.CurrentSchemaVersion})";
            return false;
        }

        if (!TryGetString(root, "commandId", "commandId", out var commandIdText, out error))
        {
            return false;
        }

        if (!Guid.TryParseExact(commandIdText, "D", out var commandId))
        {
            error = "commandId is not a UUID in 8-4-4-4-12 form";
            return false;
        }

        if (commandId == Guid.Empty)
        {
            error = "commandId is the nil UUID";
            return false;
        }

        if (!TryGetString(root, "type", "type", out var type, out error))
        {
            return false;
        }

        if (!ControlEventTypes.All.Contains(type))
        {
            error = $"unknown type '{Printable(type)}' (known: {string.Join(", ", ControlEventTypes.All)})";
            return false;
        }

        string? orderId = null;
        if (ControlEventTypes.RequiresOrder(type) || (root.TryGetProperty("orderId", out var orderElement) && orderElement.ValueKind != JsonValueKind.Null))
        {
            if (!TryGetId(root, "orderId", "orderId", out var id, out error))
            {
                return false;
            }

            orderId = id;
        }

        if (!TryGetObject(root, "requestedBy", "requestedBy", out var requestedBy, out error)
            || !TryGetId(requestedBy, "user", "requestedBy.user", out var user, out error)
            || !TryGetId(requestedBy, "role", "requestedBy.role", out var role, out error)
            || !TryGetString(root, "requestedAt", "requestedAt", out var requestedText, out error))
        {
            return false;
        }

        if (!JsonPayload.TryParseTimestamp(root.GetProperty("requestedAt"), requestedText, out var requestedAt))
        {
            error = "requestedAt is not an ISO-8601 timestamp with Z or an offset (for example 2026-11-21T12:00:00.000Z)";
            return false;
        }

        if (!TryGetString(root, "reason", "reason", out var reason, out error))
        {
            return false;
        }

        if (string.IsNullOrWhiteSpace(reason))
        {
            error = "reason is empty";
            return false;
        }

        if (!TryGetObject(root, "data", "data", out var data, out error) || !TryReadData(type, data, out var typed, out error))
        {
            return false;
        }

        var expectedKey = ControlEvent.KeyFor(orderId, typed!);
        if (key.IsEmpty)
        {
            error = orderId is null
                ? $"record has no key (the key must be {expectedKey} when there is no orderId)"
                : "record has no key (the key must be the orderId)";
            return false;
        }

        if (!key.SequenceEqual(Encoding.UTF8.GetBytes(expectedKey)))
        {
            error = orderId is null
                ? $"record key is not {expectedKey} (the key of a dead-letter command without an orderId)"
                : "record key does not equal orderId";
            return false;
        }

        parsed = new ControlEvent(commandId, orderId, new ControlRequester(user, role), requestedAt.ToUniversalTime(), reason, typed!, version);
        error = "";
        return true;
    }

    private static bool TryReadData(string type, JsonElement data, out ControlData? typed, out string error)
    {
        typed = null;
        switch (type)
        {
            case ControlEventTypes.PaymentRetryOutreachRequested:
                if (!TryGetString(data, "channel", "data.channel", out var channel, out error))
                {
                    return false;
                }

                if (!PaymentRetryOutreachRequested.Channels.Contains(channel))
                {
                    error = $"data.channel must be one of {string.Join(", ", PaymentRetryOutreachRequested.Channels.Select(c => $"\"{c}\""))}";
                    return false;
                }

                typed = new PaymentRetryOutreachRequested(channel);
                return true;

            case ControlEventTypes.OrderExpiryRequested:
                typed = new OrderExpiryRequested();
                error = "";
                return true;

            default:
                if (!TryGetInt64(data, "deadLetterId", "data.deadLetterId", out var deadLetterId, out error))
                {
                    return false;
                }

                if (deadLetterId < 1)
                {
                    error = "data.deadLetterId must be 1 or more";
                    return false;
                }

                if (!TryGetId(data, "deadLetterTopic", "data.deadLetterTopic", out var deadLetterTopic, out error)
                    || !TryGetOptionalId(data, "sourceTopic", "data.sourceTopic", out var sourceTopic, out error)
                    || !TryGetOptionalNumber(data, "sourcePartition", "data.sourcePartition", int.MaxValue, out var sourcePartition, out error)
                    || !TryGetOptionalNumber(data, "sourceOffset", "data.sourceOffset", long.MaxValue, out var sourceOffset, out error))
                {
                    return false;
                }

                if (type == ControlEventTypes.DeadLetterPurged)
                {
                    typed = new DeadLetterPurged(deadLetterId, deadLetterTopic, sourceTopic, (int?)sourcePartition, sourceOffset);
                    return true;
                }

                if (!TryGetId(data, "retryTopic", "data.retryTopic", out var retryTopic, out error))
                {
                    return false;
                }

                typed = new DeadLetterReplayed(deadLetterId, deadLetterTopic, sourceTopic, (int?)sourcePartition, sourceOffset, retryTopic);
                return true;
        }
    }


    private static bool TryGetInt32(JsonElement parent, string name, string path, out int value, out string error)
    {
        value = 0;
        if (!TryGetProperty(parent, name, path, out var element, out error))
        {
            return false;
        }

        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt32(out value))
        {
            error = $"{path} must be an integer";
            return false;
        }

        return true;
    }

    private static bool TryGetInt64(JsonElement parent, string name, string path, out long value, out string error)
    {
        value = 0;
        if (!TryGetProperty(parent, name, path, out var element, out error))
        {
            return false;
        }

        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt64(out value))
        {
            error = $"{path} must be an integer";
            return false;
        }

        return true;
    }

    /// <summary>An optional non-negative integer up to max: absent or null is none.</summary>
    private static bool TryGetOptionalNumber(JsonElement parent, string name, string path, long max, out long? value, out string error)
    {
        value = null;
        error = "";
        if (!parent.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt64(out var number) || number < 0 || number > max)
        {
            error = $"{path} must be an integer from 0 to {max} (or null when unknown)";
            return false;
        }

        value = number;
        return true;
    }

    private static bool TryGetProperty(JsonElement parent, string name, string path, out JsonElement element, out string error)
    {
        if (!parent.TryGetProperty(name, out element) || element.ValueKind == JsonValueKind.Null)
        {
            error = $"missing {path}";
            return false;
        }

        error = "";
        return true;
    }

    private static bool TryGetObject(JsonElement parent, string name, string path, out JsonElement element, out string error)
    {
        if (!TryGetProperty(parent, name, path, out element, out error))
        {
            return false;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            error = $"{path} must be a JSON object";
            return false;
        }

        return true;
    }

    private static bool TryGetString(JsonElement parent, string name, string path, out string value, out string error)
    {
        value = "";
        if (!TryGetProperty(parent, name, path, out var element, out error))
        {
            return false;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            error = $"{path} must be a string";
            return false;
        }

        value = element.GetString()!;
        return true;
    }

    private static bool TryGetId(JsonElement parent, string name, string path, out string value, out string error)
    {
        if (!TryGetString(parent, name, path, out value, out error))
        {
            return false;
        }

        return IsValidId(value, path, out error);
    }

    private static bool TryGetOptionalId(JsonElement parent, string name, string path, out string? value, out string error)
    {
        value = null;
        error = "";
        if (!parent.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (!TryGetId(parent, name, path, out var id, out error))
        {
            return false;
        }

        value = id;
        return true;
    }

    private static bool IsValidId(string value, string path, out string error)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            error = $"{path} is empty";
            return false;
        }

        if (value.Length > MaxIdLength)
        {
            error = $"{path} is longer than {MaxIdLength} characters";
            return false;
        }

        if (value.Any(char.IsControl))
        {
            error = $"{path} contains control characters";
            return false;
        }

        error = "";
        return true;
    }

    /// <summary>An unknown type echoed in an error stays one short line whatever a producer sent.</summary>
    private static string Printable(string text)
    {
        var clean = new string(text.Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return clean.Length <= 40 ? clean : clean[..40] + "…";
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, long? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteNumber(name, value.Value);
        }
    }
}
