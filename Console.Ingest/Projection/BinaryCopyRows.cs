using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Npgsql;

namespace OrderFlow.Ingest.Projection;

/// <summary>
/// Rows in PostgreSQL's binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"),
/// encoded straight into a buffer and sent through Npgsql's raw COPY stream. Used for the projection's rows (an event row
/// and an orders row with every event): Npgsql's importer spends more per value than the rest of the row costs
/// (decision 0015). Only the types those rows have: text, integer, bigint, uuid, jsonb, timestamptz and one-dimensional
/// arrays of text and timestamptz.
/// </summary>
internal sealed class BinaryCopyRows : IDisposable
{
    private const uint TextOid = 25;
    private const uint TimestampTzOid = 1184;

    // Microseconds since 2000-01-01 00:00:00 UTC, as PostgreSQL stores timestamptz (and as Npgsql encodes it).
    private static readonly long PostgresEpochTicks = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

    // Strict, as Npgsql's: a string that is not valid UTF-16 is an error, not a replacement character.
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static ReadOnlySpan<byte> Signature => [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', (byte)'\n', 0xff, (byte)'\r', (byte)'\n', 0];

    private readonly NpgsqlRawCopyStream _stream;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
    private int _used;
    private bool _completed;

    private BinaryCopyRows(NpgsqlRawCopyStream stream)
    {
        _stream = stream;
        var header = Take(Signature.Length + 8);
        Signature.CopyTo(header);
        BinaryPrimitives.WriteInt32BigEndian(header[Signature.Length..], 0); // flags: no OIDs
        BinaryPrimitives.WriteInt32BigEndian(header[(Signature.Length + 4)..], 0); // no header extension
    }

    /// <summary>Starts a binary COPY (the command must say <c>from stdin (format binary)</c>).</summary>
    public static async Task<BinaryCopyRows> BeginAsync(NpgsqlConnection connection, string copyCommand, CancellationToken cancellationToken) =>
        new(await connection.BeginRawBinaryCopyAsync(copyCommand, cancellationToken));

    public void StartRow(short fields) => BinaryPrimitives.WriteInt16BigEndian(Take(2), fields);

    public void Null() => BinaryPrimitives.WriteInt32BigEndian(Take(4), -1);

    public void Integer(int value)
    {
        var span = Take(8);
        BinaryPrimitives.WriteInt32BigEndian(span, 4);
        BinaryPrimitives.WriteInt32BigEndian(span[4..], value);
    }

    public void Bigint(long value)
    {
        var span = Take(12);
        BinaryPrimitives.WriteInt32BigEndian(span, 8);
        BinaryPrimitives.WriteInt64BigEndian(span[4..], value);
    }

    /// <summary>A uuid: its 16 bytes in RFC 9562 (network) order.</summary>
    public void Uuid(Guid value)
    {
        var span = Take(20);
        BinaryPrimitives.WriteInt32BigEndian(span, 16);
        value.TryWriteBytes(span[4..], bigEndian: true, out _);
    }

    /// <summary>JSON text as jsonb (format version 1, then the text); PostgreSQL parses it and refuses what is not JSON.</summary>
    public void Jsonb(string value)
    {
        var length = Utf8.GetByteCount(value);
        var span = Take(5 + length);
        BinaryPrimitives.WriteInt32BigEndian(span, 1 + length);
        span[4] = 1;
        Utf8.GetBytes(value, span[5..]);
    }

    public void Text(string? value)
    {
        if (value is null)
        {
            Null();
            return;
        }

        var length = Utf8.GetByteCount(value);
        var span = Take(4 + length);
        BinaryPrimitives.WriteInt32BigEndian(span, length);
        Utf8.GetBytes(value, span[4..]);
    }

    public void Timestamp(DateTimeOffset value)
    {
        var span = Take(12);
        BinaryPrimitives.WriteInt32BigEndian(span, 8);
        BinaryPrimitives.WriteInt64BigEndian(span[4..], Microseconds(value));
    }

    public void Timestamp(DateTimeOffset? value)
    {
        if (value is { } v)
        {
            Timestamp(v);
        }
        else
        {
            Null();
        }
    }

    public void TextArray(IReadOnlyList<string> values)
    {
        var length = ArrayHeaderLength(values.Count);
        foreach (var value in values)
        {
            length += 4 + Utf8.GetByteCount(value);
        }

        WriteArrayHeader(length, values.Count, hasNulls: false, TextOid);
        foreach (var value in values)
        {
            Text(value);
        }
    }

    public void TimestampArray(IReadOnlyList<DateTimeOffset?> values)
    {
        var hasNulls = false;
        var length = ArrayHeaderLength(values.Count);
        foreach (var value in values)
        {
            hasNulls |= value is null;
            length += value is null ? 4 : 12;
        }

        WriteArrayHeader(length, values.Count, hasNulls, TimestampTzOid);
        foreach (var value in values)
        {
            Timestamp(value);
        }
    }

    public void TimestampArray(IReadOnlyList<DateTimeOffset> values)
    {
        WriteArrayHeader(ArrayHeaderLength(values.Count) + 12 * values.Count, values.Count, hasNulls: false, TimestampTzOid);
        foreach (var value in values)
        {
            Timestamp(value);
        }
    }

    /// <summary>Sends the rest of the rows and ends the COPY; PostgreSQL's verdict on the rows comes back here.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        BinaryPrimitives.WriteInt16BigEndian(Take(2), -1);
        await _stream.WriteAsync(_buffer.AsMemory(0, _used), cancellationToken);
        _used = 0;
        _completed = true;
        await _stream.DisposeAsync();
    }

    /// <summary>Without <see cref="CompleteAsync"/> first, cancels the COPY: none of its rows are kept.</summary>
    public void Dispose()
    {
        if (!_completed)
        {
            try
            {
                _stream.Cancel();
                _stream.Dispose();
            }
            catch (NpgsqlException)
            {
                // The connection broke, which is why the rows were not completed: the caller replaces it.
            }
        }

        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    private static long Microseconds(DateTimeOffset value) => (value.UtcTicks - PostgresEpochTicks) / 10;

    // ndim, has-nulls flag, element type, then the one dimension's length and lower bound; an empty array has no dimension.
    private static int ArrayHeaderLength(int count) => count == 0 ? 12 : 20;

    private void WriteArrayHeader(int length, int count, bool hasNulls, uint elementType)
    {
        var span = Take(4 + ArrayHeaderLength(count));
        BinaryPrimitives.WriteInt32BigEndian(span, length);
        BinaryPrimitives.WriteInt32BigEndian(span[4..], count == 0 ? 0 : 1);
        BinaryPrimitives.WriteInt32BigEndian(span[8..], hasNulls ? 1 : 0);
        BinaryPrimitives.WriteUInt32BigEndian(span[12..], elementType);
        if (count > 0)
        {
            BinaryPrimitives.WriteInt32BigEndian(span[16..], count);
            BinaryPrimitives.WriteInt32BigEndian(span[20..], 1);
        }
    }

    // The next bytes of the buffer, counted as written. Rows are buffered and handed to the stream synchronously when the
    // buffer fills: that only copies them into Npgsql's buffer and, now and then, onto the local socket (as the importer does).
    private Span<byte> Take(int bytes)
    {
        var span = Reserve(bytes);
        _used += bytes;
        return span[..bytes];
    }

    private Span<byte> Reserve(int bytes)
    {
        if (_buffer.Length - _used < bytes)
        {
            _stream.Write(_buffer, 0, _used);
            _used = 0;
            if (_buffer.Length < bytes)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = ArrayPool<byte>.Shared.Rent(bytes);
            }
        }

        return _buffer.AsSpan(_used);
    }
}
