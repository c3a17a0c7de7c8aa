using System.Text;
using System.Text.Json;

namespace OrderFlow.Domain.Events;

/// <summary>Reads and writes the public JSON contract of operational events (docs/events.md).</summary>
public static class OperationalEventCodec
{
    public const int MaxPayloadBytes = 64 * 1024;
    public const int MaxIdLength = 128;


    public static byte[] Serialize(OperationalEvent e)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", e.SchemaVersion);
            w.WriteString("eventId", e.EventId);
            w.WriteString("orderId", e.OrderId);
            w.WriteString("step", e.Step);
            w.WriteString("service", e.Service);
            w.WriteString("outcome", e.Outcome.ToName());
            if (e.Reason is not null)
            {
                w.WriteString("reason", e.Reason);
            }

            w.WriteString("occurredAt", e.OccurredAt.ToUniversalTime());
            w.WritePropertyName("attributes");
            w.WriteRawValue(string.IsNullOrEmpty(e.AttributesJson) ? "{}" : e.AttributesJson);
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Parses a record; on failure says why in one line meant for a person.</summary>
    public static bool TryParse(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, out OperationalEvent? parsed, out string error)
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

    private static bool TryRead(JsonElement root, ReadOnlySpan<byte> key, out OperationalEvent? parsed, out string error)
    {
        parsed = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "payload is not a JSON object";
            return false;
        }

        if (!TryGetInt(root, "schemaVersion", out var version, out error))
        {
            return false;
        }

        if (version != OperationalEvent.CurrentSchemaVersion)
        {
            error = $"unknown schemaVersion {version} (this console reads {OperationalEvent.CurrentSchemaVersion})";
            return false;
        }

        if (!TryGetString(root, "eventId", out var eventIdText, out error))
        {
            return false;
        }

        if (!Guid.TryParse(eventIdText, out var eventId))
        {
            error = "eventId is not a UUID";
            return false;
        }

        if (!TryGetId(root, "orderId", out var orderId, out error)
            || !TryGetId(root, "step", out var step, out error)
            || !TryGetId(root, "service", out var service, out error)
            || !TryGetString(root, "outcome", out var outcomeText, out error)
            || !TryGetString(root, "occurredAt", out var occurredText, out error))
        {
            return false;
        }

        if (key.IsEmpty)
        {
            error = "record has no key (the key must be the OrderId)";
            return false;
        }

        if (!key.SequenceEqual(Encoding.UTF8.GetBytes(orderId)))
        {
            error = "record key does not equal orderId";
            return false;
        }

        StepOutcome outcome;
        switch (outcomeText)
        {
            case StepOutcomeNames.Succeeded: outcome = StepOutcome.Succeeded; break;
            case StepOutcomeNames.Failed: outcome = StepOutcome.Failed; break;
            default:
                error = "outcome must be \"succeeded\" or \"failed\"";
                return false;
        }

        if (!JsonPayload.TryParseTimestamp(root.GetProperty("occurredAt"), occurredText, out var occurredAt))
        {
            error = "occurredAt is not an ISO-8601 timestamp with Z or an offset (for example 2026-11-21T12:00:00.000Z)";
            return false;
        }

        string? reason = null;
        if (root.TryGetProperty("reason", out var reasonElement) && reasonElement.ValueKind != JsonValueKind.Null)
        {
            if (reasonElement.ValueKind != JsonValueKind.String)
            {
                error = "reason must be a string";
                return false;
            }

            reason = reasonElement.GetString();
            if (reason!.Contains('\0'))
            {
                // PostgreSQL text cannot hold NUL: stored as is, it would refuse the whole batch.
                error = "reason contains a NUL character (\\u0000)";
                return false;
            }
        }

        var attributes = "{}";
        if (root.TryGetProperty("attributes", out var attributesElement) && attributesElement.ValueKind != JsonValueKind.Null)
        {
            if (attributesElement.ValueKind != JsonValueKind.Object)
            {
                error = "attributes must be a JSON object";
                return false;
            }

            attributes = attributesElement.GetRawText();
            if (JsonPayload.UnstorableEscape(attributes) is { } unstorable)
            {
                error = $"attributes contain {unstorable}, which PostgreSQL's jsonb cannot store";
                return false;
            }
        }

        parsed = new OperationalEvent(eventId, orderId, step, service, outcome, reason, occurredAt.ToUniversalTime(), version, attributes);
        error = "";
        return true;
    }


    private static bool TryGetInt(JsonElement root, string name, out int value, out string error)
    {
        value = 0;
        if (!root.TryGetProperty(name, out var element))
        {
            error = $"missing {name}";
            return false;
        }

        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt32(out value))
        {
            error = $"{name} must be an integer";
            return false;
        }

        error = "";
        return true;
    }

    private static bool TryGetString(JsonElement root, string name, out string value, out string error)
    {
        value = "";
        if (!root.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            error = $"missing {name}";
            return false;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            error = $"{name} must be a string";
            return false;
        }

        value = element.GetString()!;
        error = "";
        return true;
    }

    private static bool TryGetId(JsonElement root, string name, out string value, out string error)
    {
        if (!TryGetString(root, name, out value, out error))
        {
            return false;
        }

        if (string.IsNullOrWhiteSpace(value))
        {
            error = $"{name} is empty";
            return false;
        }

        if (value.Length > MaxIdLength)
        {
            error = $"{name} is longer than {MaxIdLength} characters";
            return false;
        }

        if (value.Any(char.IsControl))
        {
            error = $"{name} contains control characters";
            return false;
        }

        return true;
    }
}
