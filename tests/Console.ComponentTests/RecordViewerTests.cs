using System.Text;
using OrderFlow.Web.Records;

namespace OrderFlow.ComponentTests;

public sealed class RecordViewerTests : ComponentTest
{
    private const string Hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>";

    [Fact]
    public void A_json_value_is_pretty_printed_and_hostile_strings_stay_text()
    {
        var bytes = Encoding.UTF8.GetBytes($$"""{"orderId":"ORD-1","note":"{{Hostile.Replace("\"", "\\\"")}}"}""");

        var cut = Render<RecordBytes>(p => p.Add(r => r.Label, "Value").Add(r => r.Bytes, bytes));

        var content = cut.Find("[data-testid=record-bytes-content]");
        Assert.Equal("json", content.GetAttribute("data-mode"));
        Assert.Contains("{\n  \"orderId\": \"ORD-1\",", content.TextContent, StringComparison.Ordinal);
        Assert.Contains(Hostile, content.TextContent, StringComparison.Ordinal);
        Assert.Empty(cut.FindAll("img"));
        Assert.Empty(cut.FindAll("script"));
    }

    [Fact]
    public void Text_that_is_not_json_is_shown_as_text()
    {
        var cut = Render<RecordBytes>(p => p.Add(r => r.Label, "Value").Add(r => r.Bytes, Encoding.UTF8.GetBytes(Hostile + " {broken")));

        var content = cut.Find("[data-testid=record-bytes-content]");
        Assert.Equal("text", content.GetAttribute("data-mode"));
        Assert.Equal(Hostile + " {broken", content.TextContent);
        Assert.Empty(cut.FindAll("img"));
    }

    [Fact]
    public void Bytes_that_are_not_utf8_are_shown_as_a_hex_dump()
    {
        byte[] bytes = [0x00, 0x01, 0x3c, 0x62, 0x3e, 0xff, 0xfe];

        var cut = Render<RecordBytes>(p => p.Add(r => r.Label, "Value").Add(r => r.Bytes, bytes));

        var content = cut.Find("[data-testid=record-bytes-content]");
        Assert.Equal("hex", content.GetAttribute("data-mode"));
        Assert.StartsWith("00000000  00 01 3c 62 3e ff fe", content.TextContent, StringComparison.Ordinal);
        Assert.Contains("|..<b>..|", content.TextContent, StringComparison.Ordinal);
        Assert.Empty(cut.FindAll("b"));
    }

    [Fact]
    public void A_null_value_says_null()
    {
        var cut = Render<RecordBytes>(p => p.Add(r => r.Label, "Key").Add(r => r.Bytes, null));

        Assert.Contains("null", cut.Find("[data-testid=record-bytes]").TextContent, StringComparison.Ordinal);
        Assert.Empty(cut.FindAll("[data-testid=record-bytes-content]"));
    }

    [Fact]
    public void Headers_are_decoded_as_text_or_hex_and_never_markup()
    {
        var json = $$"""[{"key":"x-source","value":"{{Convert.ToBase64String(Encoding.UTF8.GetBytes(Hostile))}}"},{"key":"bin","value":"{{Convert.ToBase64String([0xff, 0x00])}}"},{"key":"none","value":null}]""";

        var cut = Render<HeadersView>(p => p.Add(h => h.HeadersJson, json));

        var cells = cut.FindAll("[data-testid=record-headers] tbody tr").Select(r => r.TextContent).ToList();
        Assert.Contains(cells, c => c.Contains("x-source", StringComparison.Ordinal) && c.Contains(Hostile, StringComparison.Ordinal));
        Assert.Contains(cells, c => c.Contains("hex ff00", StringComparison.Ordinal));
        Assert.Contains(cells, c => c.Contains("(null)", StringComparison.Ordinal));
        Assert.Empty(cut.FindAll("img"));
    }
}
