using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using OrderFlow.Domain.Events;

namespace OrderFlow.Ingest.DeadLetters;

/// <summary>Where a dead letter came from and why it failed, as far as its headers tell; null where they do not.</summary>
public sealed record DeadLetterOrigin(string? SourceTopic, int? SourcePartition, long? SourceOffset, string? ErrorReason, string? FailedService)
{
    public static readonly DeadLetterOrigin Unknown = new(null, null, null, null, null);
}

/// <summary>
/// Reads the conventional dead-letter headers (ours, Spring Kafka's, Kafka Connect's) and finds the order a dead letter belongs to.
/// Pure: the record's bytes are only looked at, never changed or required to be valid.
/// </summary>
public static class DeadLetterHeaders
{
    public static readonly IReadOnlyList<string> SourceTopicNames = ["dlq-original-topic", "kafka_dlt-original-topic", "__connect.errors.topic", "x-original-topic"];

    public static readonly IReadOnlyList<string> SourcePartitionNames = ["dlq-original-partition", "kafka_dlt-original-partition", "__connect.errors.partition"];

    public static readonly IReadOnlyList<string> SourceOffsetNames = ["dlq-original-offset", "kafka_dlt-original-offset", "__connect.errors.offset"];

    public static readonly IReadOnlyList<string> ErrorReasonNames = ["dlq-error-reason", "kafka_dlt-exception-message", "__connect.errors.exception.message", "x-exception-message"];

    public static readonly IReadOnlyList<string> FailedServiceNames = ["dlq-service"];

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The first header name of each list (in list order) whose value can be read wins; of repeated headers
    /// with one name the last is taken, as Kafka clients do.
    /// </summary>
    public static DeadLetterOrigin Read(IEnumerable<IHeader>? headers)
    {
        if (headers is null)
        {
            return DeadLetterOrigin.Unknown;
        }

        var list = headers.ToList();
        return new DeadLetterOrigin(
            First(list, SourceTopicNames, Name),
            First(list, SourcePartitionNames, b => Number(b, sizeof(int)) is { } n and <= int.MaxValue ? (int?)n : null),
            First(list, SourceOffsetNames, b => Number(b, sizeof(long))),
            First(list, ErrorReasonNames, Reason),
            First(list, FailedServiceNames, Name));
    }

    /// <summary>The order a dead letter belongs to: its key when that is text, else the "orderId" of a JSON payload (as in an operational event); null when neither tells.</summary>
    public static string? FindOrderId(byte[]? key, byte[]? value)
    {
        if (key is { Length: > 0 } && Decode(key) is { } text && IsOrderId(text))
        {
            return text;
        }

        return value is { Length: > 0 } ? FromPayload(value) : null;
    }

    private static string? FromPayload(byte[] value)
    {
        try
        {
            using var doc = JsonDocument.Parse(value);
            // The codec would also insist on key == orderId, which a dead letter with a lost or binary key fails; the field is what matters here.
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("orderId", out var orderId)
                && orderId.ValueKind == JsonValueKind.String
                && orderId.GetString() is { } id
                && IsOrderId(id)
                ? id
                : null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            // Not JSON, or a string that is not valid UTF-8: the payload does not name an order.
            return null;
        }
    }

    /// <summary>The same rules an operational event's orderId obeys (OperationalEventCodec).</summary>
    private static bool IsOrderId(string text) =>
        !string.IsNullOrWhiteSpace(text) && text.Length <= OperationalEventCodec.MaxIdLength && !text.Any(char.IsControl);

    private static T? First<T>(List<IHeader> headers, IReadOnlyList<string> names, Func<byte[], T?> read)
    {
        foreach (var name in names)
        {
            var last = headers.LastOrDefault(h => h.Key == name);
            if (last?.GetValueBytes() is { } bytes && read(bytes) is { } value)
            {
                return value;
            }
        }

        return default;
    }

    /// <summary>Decimal text, or a big-endian integer of the given width (Spring Kafka's binary partition and offset headers).</summary>
    private static long? Number(byte[] bytes, int binaryWidth)
    {
        // Text is tried first: a binary value made only of ASCII digit bytes would be a partition or offset above 800 million.
        if (Decode(bytes) is { } text && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            return parsed;
        }

        if (bytes.Length != binaryWidth)
        {
            return null;
        }

        long binary = binaryWidth == sizeof(int) ? BinaryPrimitives.ReadInt32BigEndian(bytes) : BinaryPrimitives.ReadInt64BigEndian(bytes);
        return binary >= 0 ? binary : null;
    }

    /// <summary>A topic or service name: valid UTF-8 without control characters, else unreadable.</summary>
    private static string? Name(byte[] bytes) =>
        Decode(bytes)?.Trim() is { Length: > 0 } name && !name.Any(char.IsControl) ? name : null;

    /// <summary>An error reason is for people: invalid bytes become U+FFFD rather than losing the message (its exact bytes stay in the headers column).</summary>
    private static string? Reason(byte[] bytes)
    {
        // PostgreSQL text cannot hold NUL.
        var text = Encoding.UTF8.GetString(bytes).Replace('\0', '\uFFFD').Trim();
        return text.Length > 0 ? text : null;
    }

    private static string? Decode(byte[] bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
