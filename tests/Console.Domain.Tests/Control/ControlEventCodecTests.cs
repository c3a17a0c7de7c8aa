using System.Text;
using System.Text.Json.Nodes;
using OrderFlow.Domain.Control;

namespace OrderFlow.Domain.Tests.Control;

public class ControlEventCodecTests
{
    private const string OrderId = "ORD-1001";
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    private static readonly ControlRequester Alice = new("alice@shop.example", "operator");

    public static TheoryData<string> Types => new(ControlEventTypes.All);

    [Theory]
    [MemberData(nameof(Types))]
    public void A_serialized_event_of_each_type_parses_back_to_an_equal_event(string type)
    {
        var original = Sample(type);

        var parsed = Parse(ControlEventCodec.Serialize(original), original.Key);

        Assert.Equal(original, parsed);
        Assert.Equal(type, parsed.Type);
    }

    [Fact]
    public void A_dead_letter_command_without_an_order_round_trips_with_its_dead_letter_key()
    {
        var original = new ControlEvent(Guid.NewGuid(), null, Alice, T0, "load-test garbage", new DeadLetterPurged(17, "stock-dlq", null, null, null));

        var parsed = Parse(ControlEventCodec.Serialize(original), "dead-letter:17");

        Assert.Equal(original, parsed);
        Assert.Equal("dead-letter:17", original.Key);
    }

    [Fact]
    public void A_dead_letter_command_linked_to_an_order_is_keyed_by_the_order()
    {
        var e = Sample(ControlEventTypes.DeadLetterReplayed);

        Assert.Equal(OrderId, e.Key);
        Assert.Equal(OrderId, Parse(ControlEventCodec.Serialize(e), OrderId).OrderId);
    }

    [Fact]
    public void An_order_command_without_an_order_cannot_be_serialized()
    {
        var e = new ControlEvent(Guid.NewGuid(), null, Alice, T0, "why", new OrderExpiryRequested());

        Assert.Throws<InvalidOperationException>(() => ControlEventCodec.Serialize(e));
    }

    [Fact]
    public void The_request_time_is_read_as_utc_whatever_offset_the_producer_wrote()
    {
        var payload = Payload(ControlEventTypes.OrderExpiryRequested);
        payload["requestedAt"] = "2026-11-21T14:00:00+02:00";

        var parsed = Parse(payload);

        Assert.Equal(TimeSpan.Zero, parsed.RequestedAt.Offset);
        Assert.Equal(T0, parsed.RequestedAt);
    }

    [Theory]
    [InlineData("<script>alert(1)</script>\" onmouseover=\"x' --")]
    [InlineData("'; drop table orders; --")]
    [InlineData("line one\nline two\ttabbed \u0000 nul")]
    [InlineData("Kunde bittet um Rückruf 📞 — ＜b＞")]
    public void A_hostile_reason_is_kept_verbatim_as_data(string hostile)
    {
        var original = Sample(ControlEventTypes.PaymentRetryOutreachRequested) with { Reason = hostile };

        var parsed = Parse(ControlEventCodec.Serialize(original), OrderId);

        Assert.Equal(hostile, parsed.Reason);
    }

    [Fact]
    public void Unknown_fields_are_ignored_at_the_top_level_and_in_data()
    {
        var payload = Payload(ControlEventTypes.PaymentRetryOutreachRequested);
        payload["ticket"] = "OPS-12";
        ((JsonObject)payload["data"]!)["template"] = "payment-link-v2";

        var parsed = Parse(payload);

        Assert.Equal(new PaymentRetryOutreachRequested("email"), parsed.Data);
    }

    [Fact]
    public void A_null_order_id_on_a_dead_letter_command_means_no_order()
    {
        var payload = Payload(ControlEventTypes.DeadLetterPurged);
        payload["orderId"] = null;

        var parsed = Parse(payload, "dead-letter:42");

        Assert.Null(parsed.OrderId);
    }

    [Fact]
    public void Unknown_source_coordinates_may_be_absent_or_null()
    {
        var payload = Payload(ControlEventTypes.DeadLetterReplayed);
        var data = (JsonObject)payload["data"]!;
        data.Remove("sourceTopic");
        data["sourcePartition"] = null;
        data.Remove("sourceOffset");

        var parsed = Parse(payload);

        Assert.Equal(new DeadLetterReplayed(42, "payments-dlq", null, null, null, "order-retry"), parsed.Data);
    }

    [Theory]
    [InlineData("email")]
    [InlineData("sms")]
    [InlineData("phone")]
    public void Each_outreach_channel_is_accepted(string channel)
    {
        var payload = Payload(ControlEventTypes.PaymentRetryOutreachRequested);
        payload["data"] = new JsonObject { ["channel"] = channel };

        Assert.Equal(new PaymentRetryOutreachRequested(channel), Parse(payload).Data);
    }

    [Fact]
    public void A_payload_of_exactly_the_size_limit_is_accepted()
    {
        var payload = Payload(ControlEventTypes.OrderExpiryRequested);
        payload["reason"] = "x";
        var unpadded = Encoding.UTF8.GetByteCount(payload.ToJsonString());
        payload["reason"] = new string('x', ControlEventCodec.MaxPayloadBytes - unpadded + 1);
        var bytes = Encoding.UTF8.GetBytes(payload.ToJsonString());
        Assert.Equal(ControlEventCodec.MaxPayloadBytes, bytes.Length);

        Assert.True(ControlEventCodec.TryParse(Encoding.UTF8.GetBytes(OrderId), bytes, out var parsed, out var error), error);
        Assert.NotNull(parsed);
    }

    [Fact]
    public void An_empty_payload_is_rejected()
    {
        AssertRejected([], OrderId, "empty payload");
    }

    [Fact]
    public void A_payload_over_the_size_limit_is_rejected_before_it_is_parsed()
    {
        var oversized = new byte[ControlEventCodec.MaxPayloadBytes + 1];
        Array.Fill(oversized, (byte)' ');

        AssertRejected(oversized, OrderId, "payload of 16385 bytes exceeds the 16384-byte limit");
    }

    [Fact]
    public void A_payload_that_is_not_utf8_is_rejected()
    {
        var json = Encoding.UTF8.GetBytes(Payload(ControlEventTypes.OrderExpiryRequested).ToJsonString());
        var at = Array.IndexOf(json, (byte)'O');
        byte[] invalid = [.. json[..at], 0xC3, 0x28, .. json[(at + 1)..]];

        AssertRejected(invalid, OrderId, "payload is not valid UTF-8");
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"schemaVersion\": 1,")]
    [InlineData("{'schemaVersion': 1}")]
    [InlineData("\uFEFF{\"schemaVersion\": 1}")]
    public void A_payload_that_is_not_json_is_rejected_with_the_parser_message(string text)
    {
        Assert.False(ControlEventCodec.TryParse(Encoding.UTF8.GetBytes(OrderId), Encoding.UTF8.GetBytes(text), out var parsed, out var error));
        Assert.Null(parsed);
        Assert.StartsWith("payload is not valid JSON: ", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"order-expiry-requested\"")]
    [InlineData("null")]
    public void A_payload_that_is_not_a_json_object_is_rejected(string text)
    {
        AssertRejected(Encoding.UTF8.GetBytes(text), OrderId, "payload is not a JSON object");
    }

    /// <summary>One broken rule each, on an otherwise valid event of the given type: (type, JSON path, new value or REMOVE, expected error).</summary>
    public static TheoryData<string, string, string?, string> InvalidFields => new()
    {
        { ControlEventTypes.OrderExpiryRequested, "schemaVersion", Remove, "missing schemaVersion" },
        { ControlEventTypes.OrderExpiryRequested, "schemaVersion", "\"1\"", "schemaVersion must be an integer" },
        { ControlEventTypes.OrderExpiryRequested, "schemaVersion", "1.0", "schemaVersion must be an integer" },
        { ControlEventTypes.OrderExpiryRequested, "schemaVersion", "2", "unknown schemaVersion 2 (this console reads 1)" },
        { ControlEventTypes.OrderExpiryRequested, "commandId", Remove, "missing commandId" },
        { ControlEventTypes.OrderExpiryRequested, "commandId", "null", "missing commandId" },
        { ControlEventTypes.OrderExpiryRequested, "commandId", "42", "commandId must be a string" },
        { ControlEventTypes.OrderExpiryRequested, "commandId", "\"not-a-uuid\"", "commandId is not a UUID in 8-4-4-4-12 form" },
        { ControlEventTypes.OrderExpiryRequested, "commandId", "\"{0b6f7c2e-3d41-4f7a-9c1e-5a2b8d4e6f01}\"", "commandId is not a UUID in 8-4-4-4-12 form" },
        { ControlEventTypes.OrderExpiryRequested, "commandId", "\"0b6f7c2e3d414f7a9c1e5a2b8d4e6f01\"", "commandId is not a UUID in 8-4-4-4-12 form" },
        { ControlEventTypes.OrderExpiryRequested, "commandId", "\"00000000-0000-0000-0000-000000000000\"", "commandId is the nil UUID" },
        { ControlEventTypes.OrderExpiryRequested, "type", Remove, "missing type" },
        { ControlEventTypes.OrderExpiryRequested, "type", "7", "type must be a string" },
        { ControlEventTypes.OrderExpiryRequested, "type", "\"order-cancel-requested\"", "unknown type 'order-cancel-requested' (known: payment-retry-outreach-requested, order-expiry-requested, dead-letter-replayed, dead-letter-purged)" },
        { ControlEventTypes.OrderExpiryRequested, "type", "\"Order-Expiry-Requested\"", "unknown type 'Order-Expiry-Requested' (known: payment-retry-outreach-requested, order-expiry-requested, dead-letter-replayed, dead-letter-purged)" },
        { ControlEventTypes.OrderExpiryRequested, "orderId", Remove, "missing orderId" },
        { ControlEventTypes.PaymentRetryOutreachRequested, "orderId", "null", "missing orderId" },
        { ControlEventTypes.OrderExpiryRequested, "orderId", "1001", "orderId must be a string" },
        { ControlEventTypes.OrderExpiryRequested, "orderId", "\"  \"", "orderId is empty" },
        { ControlEventTypes.OrderExpiryRequested, "orderId", $"\"{new string('x', 129)}\"", "orderId is longer than 128 characters" },
        { ControlEventTypes.OrderExpiryRequested, "orderId", "\"ORD-\\u0007\"", "orderId contains control characters" },
        { ControlEventTypes.DeadLetterPurged, "orderId", "\"\"", "orderId is empty" },
        { ControlEventTypes.OrderExpiryRequested, "requestedBy", Remove, "missing requestedBy" },
        { ControlEventTypes.OrderExpiryRequested, "requestedBy", "\"alice\"", "requestedBy must be a JSON object" },
        { ControlEventTypes.OrderExpiryRequested, "requestedBy.user", Remove, "missing requestedBy.user" },
        { ControlEventTypes.OrderExpiryRequested, "requestedBy.user", "\"\"", "requestedBy.user is empty" },
        { ControlEventTypes.OrderExpiryRequested, "requestedBy.role", Remove, "missing requestedBy.role" },
        { ControlEventTypes.OrderExpiryRequested, "requestedBy.role", "[\"operator\"]", "requestedBy.role must be a string" },
        { ControlEventTypes.OrderExpiryRequested, "requestedAt", Remove, "missing requestedAt" },
        { ControlEventTypes.OrderExpiryRequested, "requestedAt", "1763726400", "requestedAt must be a string" },
        { ControlEventTypes.OrderExpiryRequested, "requestedAt", "\"2026-11-21T12:00:00\"", "requestedAt is not an ISO-8601 timestamp with Z or an offset (for example 2026-11-21T12:00:00.000Z)" },
        { ControlEventTypes.OrderExpiryRequested, "requestedAt", "\"yesterday noon\"", "requestedAt is not an ISO-8601 timestamp with Z or an offset (for example 2026-11-21T12:00:00.000Z)" },
        { ControlEventTypes.OrderExpiryRequested, "requestedAt", "\"2026-11-21T12:00:00+0100\"", "requestedAt is not an ISO-8601 timestamp with Z or an offset (for example 2026-11-21T12:00:00.000Z)" },
        { ControlEventTypes.OrderExpiryRequested, "reason", Remove, "missing reason" },
        { ControlEventTypes.OrderExpiryRequested, "reason", "false", "reason must be a string" },
        { ControlEventTypes.OrderExpiryRequested, "reason", "\" \\n \"", "reason is empty" },
        { ControlEventTypes.OrderExpiryRequested, "data", Remove, "missing data" },
        { ControlEventTypes.OrderExpiryRequested, "data", "[]", "data must be a JSON object" },
        { ControlEventTypes.PaymentRetryOutreachRequested, "data.channel", Remove, "missing data.channel" },
        { ControlEventTypes.PaymentRetryOutreachRequested, "data.channel", "1", "data.channel must be a string" },
        { ControlEventTypes.PaymentRetryOutreachRequested, "data.channel", "\"pigeon\"", "data.channel must be one of \"email\", \"sms\", \"phone\"" },
        { ControlEventTypes.PaymentRetryOutreachRequested, "data.channel", "\"EMAIL\"", "data.channel must be one of \"email\", \"sms\", \"phone\"" },
        { ControlEventTypes.DeadLetterReplayed, "data.deadLetterId", Remove, "missing data.deadLetterId" },
        { ControlEventTypes.DeadLetterReplayed, "data.deadLetterId", "\"42\"", "data.deadLetterId must be an integer" },
        { ControlEventTypes.DeadLetterReplayed, "data.deadLetterId", "4.2", "data.deadLetterId must be an integer" },
        { ControlEventTypes.DeadLetterPurged, "data.deadLetterId", "0", "data.deadLetterId must be 1 or more" },
        { ControlEventTypes.DeadLetterPurged, "data.deadLetterTopic", Remove, "missing data.deadLetterTopic" },
        { ControlEventTypes.DeadLetterPurged, "data.deadLetterTopic", "\"\"", "data.deadLetterTopic is empty" },
        { ControlEventTypes.DeadLetterReplayed, "data.sourceTopic", "3", "data.sourceTopic must be a string" },
        { ControlEventTypes.DeadLetterReplayed, "data.sourcePartition", "-1", "data.sourcePartition must be an integer from 0 to 2147483647 (or null when unknown)" },
        { ControlEventTypes.DeadLetterReplayed, "data.sourcePartition", "\"3\"", "data.sourcePartition must be an integer from 0 to 2147483647 (or null when unknown)" },
        { ControlEventTypes.DeadLetterReplayed, "data.sourcePartition", "2147483648", "data.sourcePartition must be an integer from 0 to 2147483647 (or null when unknown)" },
        { ControlEventTypes.DeadLetterReplayed, "data.sourceOffset", "1.5", "data.sourceOffset must be an integer from 0 to 9223372036854775807 (or null when unknown)" },
        { ControlEventTypes.DeadLetterReplayed, "data.retryTopic", Remove, "missing data.retryTopic" },
        { ControlEventTypes.DeadLetterReplayed, "data.retryTopic", "\"order\\u0000retry\"", "data.retryTopic contains control characters" },
    };

    private const string Remove = "REMOVE";

    [Theory]
    [MemberData(nameof(InvalidFields))]
    public void An_event_that_breaks_a_rule_is_rejected_with_that_rule(string type, string path, string? value, string expected)
    {
        var payload = Payload(type);
        var parts = path.Split('.');
        var parent = parts.Length == 1 ? payload : (JsonObject)payload[parts[0]]!;
        if (value == Remove)
        {
            parent.Remove(parts[^1]);
        }
        else
        {
            parent[parts[^1]] = JsonNode.Parse(value!);
        }

        AssertRejected(Encoding.UTF8.GetBytes(payload.ToJsonString()), KeyOf(type), expected);
    }

    [Fact]
    public void A_purge_needs_no_retry_topic()
    {
        var payload = Payload(ControlEventTypes.DeadLetterPurged);

        Assert.False(((JsonObject)payload["data"]!).ContainsKey("retryTopic"));
        Assert.IsType<DeadLetterPurged>(Parse(payload, "dead-letter:42").Data);
    }

    [Fact]
    public void A_record_without_a_key_is_rejected()
    {
        AssertRejected(Encoding.UTF8.GetBytes(Payload(ControlEventTypes.OrderExpiryRequested).ToJsonString()), "", "record has no key (the key must be the orderId)");
    }

    [Fact]
    public void A_record_keyed_by_another_order_is_rejected()
    {
        AssertRejected(Encoding.UTF8.GetBytes(Payload(ControlEventTypes.PaymentRetryOutreachRequested).ToJsonString()), "ORD-1002", "record key does not equal orderId");
    }

    [Fact]
    public void A_dead_letter_command_without_an_order_must_be_keyed_by_its_dead_letter()
    {
        var payload = Encoding.UTF8.GetBytes(Payload(ControlEventTypes.DeadLetterPurged).ToJsonString());

        AssertRejected(payload, "", "record has no key (the key must be dead-letter:42 when there is no orderId)");
        AssertRejected(payload, "dead-letter:41", "record key is not dead-letter:42 (the key of a dead-letter command without an orderId)");
        AssertRejected(payload, "42", "record key is not dead-letter:42 (the key of a dead-letter command without an orderId)");
    }

    [Fact]
    public void An_unknown_type_in_an_error_is_cut_to_one_short_printable_line()
    {
        var payload = Payload(ControlEventTypes.OrderExpiryRequested);
        payload["type"] = "evil\nline " + new string('y', 100);

        Assert.False(ControlEventCodec.TryParse(Encoding.UTF8.GetBytes(OrderId), Encoding.UTF8.GetBytes(payload.ToJsonString()), out _, out var error));
        Assert.DoesNotContain('\n', error);
        Assert.StartsWith("unknown type 'evil?line yyyy", error, StringComparison.Ordinal);
        Assert.Contains("…' (known: ", error, StringComparison.Ordinal);
    }

    private static ControlEvent Sample(string type) => new(
        Guid.NewGuid(),
        OrderId,
        Alice,
        T0.AddMilliseconds(1234.5678),
        "customer called",
        type switch
        {
            ControlEventTypes.PaymentRetryOutreachRequested => new PaymentRetryOutreachRequested("sms"),
            ControlEventTypes.OrderExpiryRequested => new OrderExpiryRequested(),
            ControlEventTypes.DeadLetterReplayed => new DeadLetterReplayed(42, "payments-dlq", "order-ops", 3, 18_234, "order-retry"),
            _ => new DeadLetterPurged(43, "stock-dlq", "order-ops", null, 7),
        });

    private static string KeyOf(string type) => type == ControlEventTypes.DeadLetterPurged ? "dead-letter:42" : OrderId;

    /// <summary>A valid payload; the purge has no order link, the others belong to ORD-1001.</summary>
    private static JsonObject Payload(string type)
    {
        var payload = new JsonObject
        {
            ["schemaVersion"] = 1,
            ["commandId"] = "0b6f7c2e-3d41-4f7a-9c1e-5a2b8d4e6f01",
            ["type"] = type,
            ["orderId"] = OrderId,
            ["requestedBy"] = new JsonObject { ["user"] = "alice@shop.example", ["role"] = "operator" },
            ["requestedAt"] = "2026-11-21T12:00:00.000Z",
            ["reason"] = "customer called",
            ["data"] = new JsonObject(),
        };
        var data = (JsonObject)payload["data"]!;
        switch (type)
        {
            case ControlEventTypes.PaymentRetryOutreachRequested:
                data["channel"] = "email";
                break;
            case ControlEventTypes.DeadLetterReplayed:
            case ControlEventTypes.DeadLetterPurged:
                data["deadLetterId"] = 42;
                data["deadLetterTopic"] = "payments-dlq";
                data["sourceTopic"] = "order-ops";
                data["sourcePartition"] = 3;
                data["sourceOffset"] = 18_234;
                if (type == ControlEventTypes.DeadLetterReplayed)
                {
                    data["retryTopic"] = "order-retry";
                }
                else
                {
                    payload.Remove("orderId");
                }

                break;
        }

        return payload;
    }

    private static ControlEvent Parse(JsonObject payload, string? key = null) =>
        Parse(Encoding.UTF8.GetBytes(payload.ToJsonString()), key ?? KeyOf((string)payload["type"]!));

    private static ControlEvent Parse(byte[] payload, string key)
    {
        Assert.True(ControlEventCodec.TryParse(Encoding.UTF8.GetBytes(key), payload, out var parsed, out var error), error);
        return parsed!;
    }

    private static void AssertRejected(byte[] payload, string key, string expected)
    {
        var accepted = ControlEventCodec.TryParse(Encoding.UTF8.GetBytes(key), payload, out var parsed, out var error);

        Assert.False(accepted, "accepted an invalid record");
        Assert.Null(parsed);
        Assert.Equal(expected, error);
    }
}
