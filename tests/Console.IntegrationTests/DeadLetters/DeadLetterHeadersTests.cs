using System.Buffers.Binary;
using System.Text;
using Confluent.Kafka;
using OrderFlow.Domain.Events;
using OrderFlow.Ingest.DeadLetters;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.DeadLetters;

/// <summary>Reading the conventional dead-letter headers and finding a dead letter's order, without I/O.</summary>
public sealed class DeadLetterHeadersTests
{
    private static byte[] Text(string s) => Encoding.UTF8.GetBytes(s);

    private static byte[] Int32BigEndian(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }

    private static byte[] Int64BigEndian(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes;
    }

    [Fact]
    public void Our_dlq_headers_give_source_coordinates_reason_and_service()
    {
        var origin = DeadLetterHeaders.Read(new Headers
        {
            { "dlq-original-topic", Text("order-ops") },
            { "dlq-original-partition", Text("5") },
            { "dlq-original-offset", Text("12345") },
            { "dlq-error-reason", Text("payment provider returned malformed response") },
            { "dlq-service", Text("payment-service") },
        });

        Assert.Equal(new DeadLetterOrigin("order-ops", 5, 12345, "payment provider returned malformed response", "payment-service"), origin);
    }

    [Fact]
    public void Spring_binary_partition_and_offset_are_read_as_big_endian_integers()
    {
        var origin = DeadLetterHeaders.Read(new Headers
        {
            { "kafka_dlt-original-topic", Text("order-ops") },
            { "kafka_dlt-original-partition", Int32BigEndian(4) },
            { "kafka_dlt-original-offset", Int64BigEndian(9_876_543_210) },
            { "kafka_dlt-exception-message", Text("Listener failed; nested exception is java.lang.IllegalStateException") },
        });

        Assert.Equal(new DeadLetterOrigin("order-ops", 4, 9_876_543_210, "Listener failed; nested exception is java.lang.IllegalStateException", null), origin);
    }

    [Fact]
    public void Spring_headers_written_as_text_are_read_too()
    {
        var origin = DeadLetterHeaders.Read(new Headers
        {
            { "kafka_dlt-original-partition", Text("2") },
            { "kafka_dlt-original-offset", Text("17") },
        });

        Assert.Equal(2, origin.SourcePartition);
        Assert.Equal(17, origin.SourceOffset);
    }

    [Fact]
    public void Kafka_connect_and_x_headers_are_recognised()
    {
        var origin = DeadLetterHeaders.Read(new Headers
        {
            { "__connect.errors.topic", Text("inventory") },
            { "__connect.errors.partition", Text("1") },
            { "__connect.errors.offset", Text("99") },
            { "__connect.errors.exception.message", Text("Converting byte[] to Kafka Connect data failed") },
        });
        var x = DeadLetterHeaders.Read(new Headers { { "x-original-topic", Text("orders") }, { "x-exception-message", Text("timeout") } });

        Assert.Equal(new DeadLetterOrigin("inventory", 1, 99, "Converting byte[] to Kafka Connect data failed", null), origin);
        Assert.Equal(new DeadLetterOrigin("orders", null, null, "timeout", null), x);
    }

    [Fact]
    public void The_first_header_name_of_the_list_wins_whatever_the_order_in_the_record()
    {
        var origin = DeadLetterHeaders.Read(new Headers
        {
            { "x-original-topic", Text("from-x") },
            { "kafka_dlt-original-topic", Text("from-spring") },
            { "dlq-original-topic", Text("from-dlq") },
            { "kafka_dlt-exception-message", Text("spring reason") },
            { "dlq-error-reason", Text("our reason") },
        });

        Assert.Equal("from-dlq", origin.SourceTopic);
        Assert.Equal("our reason", origin.ErrorReason);
    }

    [Fact]
    public void An_unreadable_value_gives_way_to_the_next_header_name()
    {
        var origin = DeadLetterHeaders.Read(new Headers
        {
            { "dlq-original-partition", Text("three") },
            { "kafka_dlt-original-partition", Int32BigEndian(3) },
            { "dlq-original-offset", [0x01, 0x02, 0x03] },
            { "__connect.errors.offset", Text("77") },
            { "dlq-original-topic", [0xff, 0xfe] },
            { "x-original-topic", Text("order-ops") },
        });

        Assert.Equal(3, origin.SourcePartition);
        Assert.Equal(77, origin.SourceOffset);
        Assert.Equal("order-ops", origin.SourceTopic);
    }

    [Fact]
    public void Of_a_repeated_header_the_last_counts()
    {
        var origin = DeadLetterHeaders.Read(new Headers
        {
            { "dlq-original-topic", Text("first-failure") },
            { "dlq-original-topic", Text("second-failure") },
        });

        Assert.Equal("second-failure", origin.SourceTopic);
    }

    [Fact]
    public void Missing_null_negative_or_oversized_values_leave_the_fields_unknown()
    {
        Assert.Equal(DeadLetterOrigin.Unknown, DeadLetterHeaders.Read(null));
        Assert.Equal(DeadLetterOrigin.Unknown, DeadLetterHeaders.Read(new Headers()));
        var origin = DeadLetterHeaders.Read(new Headers
        {
            new Header("dlq-original-topic", null),
            { "kafka_dlt-original-partition", Int32BigEndian(-1) },
            { "dlq-original-partition", Text("4294967296") },
            { "kafka_dlt-original-offset", Int64BigEndian(-5) },
            { "dlq-error-reason", Text("   ") },
            { "dlq-service", Text("bad\u0001name") },
        });

        Assert.Equal(DeadLetterOrigin.Unknown, origin);
    }

    [Fact]
    public void A_reason_with_invalid_utf8_or_nul_is_kept_readable_for_postgresql()
    {
        var origin = DeadLetterHeaders.Read(new Headers { { "dlq-error-reason", [.. Text("bad "), 0xff, 0x00, .. Text(" bytes")] } });

        Assert.Equal("bad \uFFFD\uFFFD bytes", origin.ErrorReason);
    }

    [Fact]
    public void The_order_is_the_key_when_the_key_is_text()
    {
        Assert.Equal("ORD-1", DeadLetterHeaders.FindOrderId(Text("ORD-1"), Text("""{"orderId":"ORD-OTHER"}""")));
        Assert.Equal("ORD-1", DeadLetterHeaders.FindOrderId(Text("ORD-1"), null));
    }

    [Fact]
    public void Without_a_text_key_the_order_comes_from_an_operational_event_payload()
    {
        var payload = OperationalEventCodec.Serialize(Events.Step("ORD-EV", "payment-authorized", 1));

        Assert.Equal("ORD-EV", DeadLetterHeaders.FindOrderId(null, payload));
        Assert.Equal("ORD-EV", DeadLetterHeaders.FindOrderId([0xff, 0x00, 0x12], payload));
        Assert.Equal("ORD-EV", DeadLetterHeaders.FindOrderId([], payload));
    }

    [Fact]
    public void Without_a_text_key_any_json_payload_with_an_order_id_string_names_the_order()
    {
        Assert.Equal("ORD-J", DeadLetterHeaders.FindOrderId(null, Text("""{"schemaVersion":99,"orderId":"ORD-J","amount":12.5}""")));
        Assert.Equal("ORD-J", DeadLetterHeaders.FindOrderId(Text("   "), Text("""{"orderId":"ORD-J"}""")));
        Assert.Equal("ORD-J", DeadLetterHeaders.FindOrderId(Text("a\u0000b"), Text("""{"orderId":"ORD-J"}""")));
        Assert.Equal("ORD-J", DeadLetterHeaders.FindOrderId(Text(new string('k', OperationalEventCodec.MaxIdLength + 1)), Text("""{"orderId":"ORD-J"}""")));
    }

    [Fact]
    public void A_dead_letter_that_names_no_order_has_none()
    {
        Assert.Null(DeadLetterHeaders.FindOrderId(null, null));
        Assert.Null(DeadLetterHeaders.FindOrderId([0xff], [0x7b, 0xff, 0xfe, 0x7d]));
        Assert.Null(DeadLetterHeaders.FindOrderId(null, Text("{not json")));
        Assert.Null(DeadLetterHeaders.FindOrderId(null, Text("""["orderId","ORD-1"]""")));
        Assert.Null(DeadLetterHeaders.FindOrderId(null, Text("""{"orderId":42}""")));
        Assert.Null(DeadLetterHeaders.FindOrderId(null, Text("""{"orderId":""}""")));
        Assert.Null(DeadLetterHeaders.FindOrderId(null, Text("""{"order":{"orderId":"ORD-NESTED"}}""")));
        Assert.Null(DeadLetterHeaders.FindOrderId(null, [.. Text("{\"orderId\":\""), 0xff, .. Text("\"}")]));
    }
}
