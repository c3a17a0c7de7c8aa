using System.Text;
using System.Text.Json.Nodes;
using OrderFlow.Domain.Events;

namespace OrderFlow.Domain.Tests.Events;

public class OperationalEventCodecTests
{
    private static readonly byte[] Key = Encoding.UTF8.GetBytes(OrderEvents.OrderId);

    [Fact]
    public void A_serialized_event_parses_back_to_an_equal_event()
    {
        var original = new OperationalEvent(
            OrderEvents.Id(1), OrderEvents.OrderId, "payment-authorized", "payment-service", StepOutcome.Failed,
            "card declined", OrderEvents.T0, OperationalEvent.CurrentSchemaVersion, """{"attempt":2,"psp":"acme"}""");

        var parsed = Parse(OperationalEventCodec.Serialize(original));

        Assert.Equal(original, parsed);
    }

    [Fact]
    public void A_successful_event_without_a_reason_parses_back_to_an_equal_event()
    {
        var original = OrderEvents.Succeeded("order-placed", 0);

        var parsed = Parse(OperationalEventCodec.Serialize(original));

        Assert.Equal(original, parsed);
        Assert.Null(parsed.Reason);
    }

    [Fact]
    public void The_event_time_is_read_as_utc_whatever_offset_the_producer_wrote()
    {
        var payload = Payload();
        payload["occurredAt"] = "2026-11-21T14:00:00+02:00";

        var parsed = Parse(payload);

        Assert.Equal(TimeSpan.Zero, parsed.OccurredAt.Offset);
        Assert.Equal(OrderEvents.T0, parsed.OccurredAt);
    }

    [Fact]
    public void A_hostile_reason_is_accepted_verbatim_because_escaping_is_the_screens_job()
    {
        const string hostile = "<script>alert(1)</script>\" onmouseover=\"x' --";
        var original = OrderEvents.Failed("payment-authorized", 1, hostile);

        var parsed = Parse(OperationalEventCodec.Serialize(original));

        Assert.Equal(hostile, parsed.Reason);
    }

    [Fact]
    public void Attributes_are_kept_as_their_raw_json_object()
    {
        var payload = Payload();
        payload["attributes"] = new JsonObject { ["amount"] = 12.5, ["items"] = new JsonArray(1, 2) };

        var parsed = Parse(payload);

        Assert.Equal("""{"amount":12.5,"items":[1,2]}""", parsed.AttributesJson);
    }

    [Fact]
    public void Missing_or_null_attributes_and_reason_are_read_as_an_empty_object_and_no_reason()
    {
        var payload = Payload();
        payload.Remove("attributes");
        payload["reason"] = null;

        var parsed = Parse(payload);

        Assert.Equal("{}", parsed.AttributesJson);
        Assert.Null(parsed.Reason);
    }

    [Fact]
    public void A_payload_of_exactly_the_size_limit_is_accepted()
    {
        var payload = Payload();
        payload["attributes"] = new JsonObject { ["padding"] = "" };
        var unpadded = Encoding.UTF8.GetByteCount(payload.ToJsonString());
        payload["attributes"] = new JsonObject { ["padding"] = new string('x', OperationalEventCodec.MaxPayloadBytes - unpadded) };
        var bytes = Encoding.UTF8.GetBytes(payload.ToJsonString());
        Assert.Equal(OperationalEventCodec.MaxPayloadBytes, bytes.Length);

        Assert.True(OperationalEventCodec.TryParse(Key, bytes, out var parsed, out var error), error);
        Assert.NotNull(parsed);
    }

    [Fact]
    public void An_empty_payload_is_rejected()
    {
        AssertRejected(Array.Empty<byte>(), "empty payload");
    }

    [Fact]
    public void A_payload_over_the_size_limit_is_rejected_before_it_is_parsed()
    {
        var oversized = new byte[OperationalEventCodec.MaxPayloadBytes + 1];
        Array.Fill(oversized, (byte)' ');

        AssertRejected(oversized, "payload of 65537 bytes exceeds the 65536-byte limit");
    }

    [Fact]
    public void A_payload_that_is_not_utf8_is_rejected()
    {
        var payload = Payload();
        payload["reason"] = "card ~ declined";
        var json = Encoding.UTF8.GetBytes(payload.ToJsonString());
        var at = Array.IndexOf(json, (byte)'~');

        // 0xC3 opens a two-byte sequence; 0x28 cannot continue it.
        byte[] invalid = [.. json[..at], 0xC3, 0x28, .. json[(at + 1)..]];

        AssertRejected(invalid, "payload is not valid UTF-8");
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"schemaVersion\": 1,")]
    [InlineData("{'schemaVersion': 1}")]
    public void A_payload_that_is_not_json_is_rejected_with_the_parser_message(string text)
    {
        var rejected = !OperationalEventCodec.TryParse(Key, Encoding.UTF8.GetBytes(text), out var parsed, out var error);

        Assert.True(rejected);
        Assert.Null(parsed);
        Assert.StartsWith("payload is not valid JSON: ", error, StringComparison.Ordinal);
        Assert.True(error.Length > "payload is not valid JSON: ".Length, "the parser's reason is part of the message");
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("[{\"schemaVersion\":1}]")]
    [InlineData("\"order-1\"")]
    [InlineData("42")]
    public void A_payload_that_is_not_a_json_object_is_rejected(string text)
    {
        AssertRejected(Encoding.UTF8.GetBytes(text), "payload is not a JSON object");
    }

    [Fact]
    public void A_payload_without_a_schema_version_is_rejected()
    {
        var payload = Payload();
        payload.Remove("schemaVersion");

        AssertRejected(payload, "missing schemaVersion");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void A_schema_version_this_console_does_not_read_is_rejected(int version)
    {
        var payload = Payload();
        payload["schemaVersion"] = version;

        AssertRejected(payload, $"unknown schemaVersion {version} (this console reads 1)");
    }

    [Fact]
    public void A_schema_version_written_as_text_is_rejected()
    {
        var payload = Payload();
        payload["schemaVersion"] = "1";

        AssertRejected(payload, "schemaVersion must be an integer");
    }

    [Fact]
    public void A_schema_version_with_a_fraction_is_rejected()
    {
        var payload = Payload();
        payload["schemaVersion"] = 1.5;

        AssertRejected(payload, "schemaVersion must be an integer");
    }

    [Theory]
    [InlineData("not-a-uuid")]
    [InlineData("")]
    [InlineData("00000000-0000-0000-0000-00000000000")]
    public void An_event_id_that_is_not_a_uuid_is_rejected(string eventId)
    {
        var payload = Payload();
        payload["eventId"] = eventId;

        AssertRejected(payload, "eventId is not a UUID");
    }

    [Theory]
    [InlineData("eventId")]
    [InlineData("orderId")]
    [InlineData("step")]
    [InlineData("service")]
    [InlineData("outcome")]
    [InlineData("occurredAt")]
    public void A_payload_missing_a_required_field_is_rejected_naming_the_field(string field)
    {
        var payload = Payload();
        payload.Remove(field);

        AssertRejected(payload, $"missing {field}");
    }

    [Fact]
    public void A_null_order_id_counts_as_missing()
    {
        var payload = Payload();
        payload["orderId"] = null;

        AssertRejected(payload, "missing orderId");
    }

    [Theory]
    [InlineData("orderId")]
    [InlineData("step")]
    [InlineData("service")]
    [InlineData("outcome")]
    [InlineData("occurredAt")]
    [InlineData("eventId")]
    public void A_text_field_written_as_a_number_is_rejected(string field)
    {
        var payload = Payload();
        payload[field] = 42;

        AssertRejected(payload, $"{field} must be a string");
    }

    [Theory]
    [InlineData("orderId")]
    [InlineData("step")]
    [InlineData("service")]
    public void A_blank_id_is_rejected(string field)
    {
        var payload = Payload();
        payload[field] = "   ";

        AssertRejected(payload, $"{field} is empty");
    }

    [Fact]
    public void An_id_longer_than_the_limit_is_rejected()
    {
        var payload = Payload();
        payload["step"] = new string('s', OperationalEventCodec.MaxIdLength + 1);

        AssertRejected(payload, "step is longer than 128 characters");
    }

    [Fact]
    public void An_id_exactly_at_the_length_limit_is_accepted()
    {
        var orderId = new string('o', OperationalEventCodec.MaxIdLength);
        var payload = Payload();
        payload["orderId"] = orderId;

        var ok = OperationalEventCodec.TryParse(Encoding.UTF8.GetBytes(orderId), Encoding.UTF8.GetBytes(payload.ToJsonString()), out var parsed, out var error);

        Assert.True(ok, error);
        Assert.Equal(orderId, parsed!.OrderId);
    }

    [Theory]
    [InlineData("orderId", "order-1\n")]
    [InlineData("orderId", "order\u0000-1")]
    [InlineData("step", "shipped\u001b[31m")]
    [InlineData("service", "ship\u0085ping")]
    public void An_id_with_control_characters_is_rejected(string field, string value)
    {
        var payload = Payload();
        payload[field] = value;

        AssertRejected(payload, $"{field} contains control characters");
    }

    [Fact]
    public void A_record_without_a_key_is_rejected()
    {
        var ok = OperationalEventCodec.TryParse([], Encoding.UTF8.GetBytes(Payload().ToJsonString()), out var parsed, out var error);

        Assert.False(ok);
        Assert.Null(parsed);
        Assert.Equal("record has no key (the key must be the OrderId)", error);
    }

    [Theory]
    [InlineData("order-2")]
    [InlineData("ORDER-1")]
    [InlineData("order-1 ")]
    public void A_record_whose_key_is_not_its_order_id_is_rejected(string key)
    {
        var ok = OperationalEventCodec.TryParse(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(Payload().ToJsonString()), out var parsed, out var error);

        Assert.False(ok);
        Assert.Null(parsed);
        Assert.Equal("record key does not equal orderId", error);
    }

    [Fact]
    public void A_non_ascii_order_id_matches_its_utf8_key()
    {
        const string orderId = "commande-é-東京";
        var payload = Payload();
        payload["orderId"] = orderId;

        var ok = OperationalEventCodec.TryParse(Encoding.UTF8.GetBytes(orderId), Encoding.UTF8.GetBytes(payload.ToJsonString()), out var parsed, out var error);

        Assert.True(ok, error);
        Assert.Equal(orderId, parsed!.OrderId);
    }

    [Theory]
    [InlineData("maybe")]
    [InlineData("Succeeded")]
    [InlineData("")]
    public void An_outcome_other_than_succeeded_or_failed_is_rejected(string outcome)
    {
        var payload = Payload();
        payload["outcome"] = outcome;

        AssertRejected(payload, "outcome must be \"succeeded\" or \"failed\"");
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("")]
    [InlineData("2026-13-45T99:00:00Z")]
    public void An_occurred_at_that_is_not_a_timestamp_is_rejected(string occurredAt)
    {
        var payload = Payload();
        payload["occurredAt"] = occurredAt;

        AssertRejected(payload, OccurredAtError);
    }

    private const string OccurredAtError = "occurredAt is not an ISO-8601 timestamp with Z or an offset (for example 2026-11-21T12:00:00.000Z)";

    [Theory]
    [InlineData("2026-11-21T12:00:00")]
    [InlineData("2026-11-21T12:00:00.123")]
    public void An_occurred_at_without_an_offset_is_rejected_rather_than_read_in_local_time(string occurredAt)
    {
        var payload = Payload();
        payload["occurredAt"] = occurredAt;

        AssertRejected(payload, OccurredAtError);
    }

    [Theory]
    [InlineData("11/21/2026 12:00:00")]
    [InlineData("Saturday, 21 November 2026 12:00")]
    public void An_occurred_at_in_a_format_other_than_iso_8601_is_rejected(string occurredAt)
    {
        var payload = Payload();
        payload["occurredAt"] = occurredAt;

        AssertRejected(payload, OccurredAtError);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"{}\"")]
    [InlineData("7")]
    public void Attributes_that_are_not_a_json_object_are_rejected(string attributes)
    {
        var payload = Payload();
        payload["attributes"] = JsonNode.Parse(attributes);

        AssertRejected(payload, "attributes must be a JSON object");
    }

    [Fact]
    public void A_reason_that_is_not_text_is_rejected()
    {
        var payload = Payload();
        payload["reason"] = new JsonObject { ["code"] = 51 };

        AssertRejected(payload, "reason must be a string");
    }

    /// <summary>A valid record of order-1 as a producer would write it; each test breaks one thing.</summary>
    [Fact]
    public void A_reason_with_a_nul_character_is_rejected_because_postgresql_text_cannot_hold_it()
    {
        var payload = Payload();
        payload["reason"] = "card\u0000declined";

        AssertRejected(payload, "reason contains a NUL character (\\u0000)");
    }

    [Theory]
    [InlineData("""{"note":"x\u0000y"}""", "a \\u0000 escape")]
    [InlineData("""{"n\u0000":1}""", "a \\u0000 escape")]
    [InlineData("""{"note":"\ud800"}""", "an unpaired surrogate escape")]
    [InlineData("""{"note":"\ud800x"}""", "an unpaired surrogate escape")]
    [InlineData("""{"note":"\udc00\ud800"}""", "an unpaired surrogate escape")]
    [InlineData("""{"deep":[{"note":"ok \\ \" then \u0000"}]}""", "a \\u0000 escape")]
    public void Attributes_postgresql_jsonb_cannot_store_are_rejected(string attributes, string what)
    {
        AssertRejected(WithRawAttributes(attributes), $"attributes contain {what}, which PostgreSQL's jsonb cannot store");
    }

    [Theory]
    [InlineData("""{"note":"\\u0000 is text here"}""")]
    [InlineData("""{"pizza":"\ud83c\udf55","tab":"\t","quote":"\"\u0041"}""")]
    public void Attributes_with_storable_escapes_are_kept_as_sent(string attributes)
    {
        var ok = OperationalEventCodec.TryParse(Key, WithRawAttributes(attributes), out var parsed, out var error);

        Assert.True(ok, error);
        Assert.Equal(attributes, parsed!.AttributesJson);
    }

    [Fact]
    public void A_raw_nul_byte_is_rejected_with_an_error_line_postgresql_text_can_hold()
    {
        // The error is stored in quarantined_records.error (text): the parser's message must not echo the NUL.
        var ok = OperationalEventCodec.TryParse(Key, [.. "{\"a\":\"x"u8, 0, .. "\"}"u8], out _, out var error);

        Assert.False(ok);
        Assert.StartsWith("payload is not valid JSON", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\0', error);
    }

    private static byte[] WithRawAttributes(string attributes)
    {
        var payload = Payload().ToJsonString();
        Assert.Contains("\"attributes\":{}", payload, StringComparison.Ordinal);
        return Encoding.UTF8.GetBytes(payload.Replace("\"attributes\":{}", $"\"attributes\":{attributes}", StringComparison.Ordinal));
    }

    private static JsonObject Payload() => new()
    {
        ["schemaVersion"] = 1,
        ["eventId"] = "6f1c1b8e-2a52-4c1e-9d7a-3f0c2b1a9e11",
        ["orderId"] = OrderEvents.OrderId,
        ["step"] = "payment-authorized",
        ["service"] = "payment-service",
        ["outcome"] = "failed",
        ["reason"] = "card declined",
        ["occurredAt"] = "2026-11-21T12:00:00Z",
        ["attributes"] = new JsonObject(),
    };

    private static OperationalEvent Parse(JsonObject payload) => Parse(Encoding.UTF8.GetBytes(payload.ToJsonString()));

    private static OperationalEvent Parse(byte[] payload)
    {
        Assert.True(OperationalEventCodec.TryParse(Key, payload, out var parsed, out var error), error);
        Assert.Equal("", error);
        return Assert.IsType<OperationalEvent>(parsed);
    }

    private static void AssertRejected(JsonObject payload, string expectedError) =>
        AssertRejected(Encoding.UTF8.GetBytes(payload.ToJsonString()), expectedError);

    private static void AssertRejected(byte[] payload, string expectedError)
    {
        var ok = OperationalEventCodec.TryParse(Key, payload, out var parsed, out var error);

        Assert.False(ok, $"accepted as {parsed}");
        Assert.Null(parsed);
        Assert.Equal(expectedError, error);
    }
}
