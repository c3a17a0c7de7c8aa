using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace OrderFlow.Web.Records;

/// <summary>JSON indented for people. The result is text: Razor escapes it where it is shown, so payloads never become markup.</summary>
public static class PrettyJson
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Format(JsonElement element) => JsonSerializer.Serialize(element, Indented);

    /// <summary>The bytes as indented JSON when they are UTF-8 JSON, else null.</summary>
    public static string? TryFormat(byte[] bytes)
    {
        try
        {
            var reader = new Utf8JsonReader(bytes);
            using var document = JsonDocument.ParseValue(ref reader);
            return Format(document.RootElement);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The bytes as text when they are valid UTF-8 without control characters other than line breaks and tabs, else null.</summary>
    public static string? TryText(byte[] bytes)
    {
        try
        {
            var text = StrictUtf8.GetString(bytes);
            return text.Any(c => char.IsControl(c) && c is not ('\n' or '\r' or '\t')) ? null : text;
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>A classic hex dump: offset, 16 bytes in hex, the printable ASCII beside them.</summary>
    public static string Hex(byte[] bytes, int max = 64 * 1024)
    {
        var shown = Math.Min(bytes.Length, max);
        var text = new StringBuilder();
        for (var row = 0; row < shown; row += 16)
        {
            text.Append(row.ToString("x8", System.Globalization.CultureInfo.InvariantCulture)).Append("  ");
            for (var i = 0; i < 16; i++)
            {
                text.Append(row + i < shown ? bytes[row + i].ToString("x2", System.Globalization.CultureInfo.InvariantCulture) + " " : "   ");
                if (i == 7)
                {
                    text.Append(' ');
                }
            }

            text.Append(" |");
            for (var i = row; i < Math.Min(row + 16, shown); i++)
            {
                text.Append(bytes[i] is >= 0x20 and < 0x7f ? (char)bytes[i] : '.');
            }

            text.Append("|\n");
        }

        if (shown < bytes.Length)
        {
            text.Append($"… {bytes.Length - shown:N0} more bytes not shown\n");
        }

        return text.ToString();
    }
}
