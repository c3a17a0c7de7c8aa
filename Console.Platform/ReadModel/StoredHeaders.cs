using System.Text.Json;
using System.Text.Json.Serialization;
using Confluent.Kafka;

namespace OrderFlow.Platform.ReadModel;

/// <summary>One Kafka header as the read model stores it: its name and its exact bytes (null for a null value).</summary>
public sealed record StoredHeader(string Key, byte[]? Value);

/// <summary>
/// A record's Kafka headers as quarantined_records, dead_letters and outbox store them (jsonb):
/// <c>[{"key": name, "value": base64 or null}]</c>, in the record's order, so the bytes survive untouched.
/// </summary>
public sealed class StoredHeaders(IReadOnlyList<StoredHeader> items)
{
    public static StoredHeaders None { get; } = new([]);

    public IReadOnlyList<StoredHeader> Items { get; } = items;

    public static StoredHeaders From(IEnumerable<IHeader>? headers) =>
        headers is null ? None : new(headers.Select(h => new StoredHeader(h.Key, h.GetValueBytes())).ToList());

    public string ToJson() =>
        JsonSerializer.Serialize(Items.Select(h => new Json(h.Key, h.Value is null ? null : Convert.ToBase64String(h.Value))));

    public static StoredHeaders Parse(string json) =>
        new((JsonSerializer.Deserialize<List<Json>>(json) ?? []).Select(h => new StoredHeader(h.Key, h.Value is null ? null : Convert.FromBase64String(h.Value))).ToList());

    public Headers ToKafka()
    {
        var headers = new Headers();
        foreach (var header in Items)
        {
            headers.Add(header.Key, header.Value);
        }

        return headers;
    }

    private sealed record Json([property: JsonPropertyName("key")] string Key, [property: JsonPropertyName("value")] string? Value);
}
