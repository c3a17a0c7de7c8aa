using System.Text;
using System.Text.Json;

namespace OrderFlow.Domain.Events;

/// <summary>
/// The checks every public JSON contract of the console makes before reading fields (operational and control events):
/// not empty, within the size limit, strict UTF-8, JSON. Each failure is one line meant for a person.
/// </summary>
internal static class JsonPayload
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The document when the payload passes; the caller reads its fields and disposes it.</summary>
    public static bool TryOpen(ReadOnlySpan<byte> value, int maxBytes, out JsonDocument? document, out string error)
    {
        document = null;
        if (value.Length == 0)
        {
            error = "empty payload";
            return false;
        }

        if (value.Length > maxBytes)
        {
            error = $"payload of {value.Length} bytes exceeds the {maxBytes}-byte limit";
            return false;
        }

        try
        {
            StrictUtf8.GetCharCount(value);
        }
        catch (DecoderFallbackException)
        {
            error = "payload is not valid UTF-8";
            return false;
        }

        try
        {
            document = JsonDocument.Parse(value.ToArray());
            error = "";
            return true;
        }
        catch (JsonException ex)
        {
            error = $"payload is not valid JSON: {ex.Message}";
            return false;
        }
    }

    /// <summary>
    /// What in valid JSON text PostgreSQL's jsonb refuses: a \u0000 escape (text cannot hold NUL) or an escaped UTF-16
    /// surrogate without its other half. Null when there is none. (Unescaped, the text is valid UTF-16: the payload
    /// passed the strict UTF-8 check.)
    /// </summary>
    public static string? UnstorableEscape(string json)
    {
        if (!json.Contains("\\u", StringComparison.Ordinal))
        {
            return null;
        }

        for (var i = 0; i < json.Length - 1; i++)
        {
            if (json[i] != '\\')
            {
                continue;
            }

            if (json[i + 1] != 'u' || i + 6 > json.Length)
            {
                i++; // \\, \", \n…: the escaped character is not the start of another escape.
                continue;
            }

            var unit = Convert.ToUInt16(json.Substring(i + 2, 4), 16);
            if (unit == 0)
            {
                return "a \\u0000 escape";
            }

            if (char.IsHighSurrogate((char)unit))
            {
                var low = i + 12 <= json.Length && json[i + 6] == '\\' && json[i + 7] == 'u'
                    && char.IsLowSurrogate((char)Convert.ToUInt16(json.Substring(i + 8, 4), 16));
                if (!low)
                {
                    return "an unpaired surrogate escape";
                }

                i += 11;
                continue;
            }

            if (char.IsLowSurrogate((char)unit))
            {
                return "an unpaired surrogate escape";
            }

            i += 5;
        }

        return null;
    }

    /// <summary>ISO-8601 only, and never in the reader's local time zone: the offset must be explicit (Z or ±hh:mm).</summary>
    public static bool TryParseTimestamp(JsonElement element, string text, out DateTimeOffset value)
    {
        var hasOffset = text.EndsWith('Z') || (text.Length > 6 && text[^6] is '+' or '-' && text[^3] == ':');
        return element.TryGetDateTimeOffset(out value) & hasOffset;
    }
}
