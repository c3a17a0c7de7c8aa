using Npgsql;
using NpgsqlTypes;
using OrderFlow.Ingest.Projection;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Projection;

/// <summary>
/// The projection's own binary COPY encoder (decision 0015) against a real PostgreSQL: every value it writes reads back
/// as the same value Npgsql's importer writes, beyond the encoder's buffer and for strings people should not send.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class BinaryCopyRowsTests(PostgresServer postgres)
{
    private const string Columns = "id integer not null, t text, ts timestamptz, ta text[] not null, tsa timestamptz[] not null, tsna timestamptz[] not null, u uuid, n bigint, j jsonb";

    private static readonly string[] Hostile =
    [
        "", "plain", "quote ' and \" and \\ backslash", "{braces,\"and\",commas}", "line\nbreak\ttab", "zß水🍕 ünïcödé",
        "<script>alert(1)</script>", "NULL", new string('x', 100_000),
    ];

    private static readonly DateTimeOffset[] Times =
    [
        new(2026, 11, 22, 8, 30, 15, 123, TimeSpan.Zero),
        new DateTimeOffset(2026, 11, 22, 8, 30, 15, TimeSpan.Zero).AddTicks(1_234_567), // sub-microsecond ticks
        new(1999, 12, 31, 23, 59, 59, 999, TimeSpan.Zero), // before PostgreSQL's epoch
        new DateTimeOffset(1970, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(-3), // negative, not a whole microsecond
        new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero),
    ];

    [Fact]
    public async Task Every_value_reads_back_as_the_one_Npgsqls_importer_writes_across_buffer_boundaries()
    {
        await using var connection = new NpgsqlConnection(await postgres.CreateDatabaseAsync());
        await connection.OpenAsync();
        await ExecuteAsync(connection, $"create table ours ({Columns}); create table theirs ({Columns})");

        // 1,000 rows with ~100 KB strings and arrays: many times the encoder's 64 KB buffer, one value larger than it.
        var rows = Enumerable.Range(0, 1_000).Select(RowFor).ToList();
        using (var ours = await BinaryCopyRows.BeginAsync(connection, "copy ours (id, t, ts, ta, tsa, tsna, u, n, j) from stdin (format binary)", CancellationToken.None))
        {
            foreach (var row in rows)
            {
                ours.StartRow(9);
                ours.Integer(row.Id);
                ours.Text(row.Text);
                ours.Timestamp(row.Time);
                ours.TextArray(row.Texts);
                ours.TimestampArray(row.Times);
                ours.TimestampArray(row.MaybeTimes);
                ours.Uuid(row.Uuid);
                ours.Bigint(row.Big);
                ours.Jsonb(row.Json);
            }

            await ours.CompleteAsync(CancellationToken.None);
        }

        await using (var theirs = await connection.BeginBinaryImportAsync("copy theirs (id, t, ts, ta, tsa, tsna, u, n, j) from stdin (format binary)"))
        {
            foreach (var row in rows)
            {
                await theirs.StartRowAsync();
                await theirs.WriteAsync(row.Id, NpgsqlDbType.Integer);
                await theirs.WriteAsync(row.Text, NpgsqlDbType.Text);
                await theirs.WriteAsync(row.Time, NpgsqlDbType.TimestampTz);
                await theirs.WriteAsync(row.Texts, NpgsqlDbType.Array | NpgsqlDbType.Text);
                await theirs.WriteAsync(row.Times, NpgsqlDbType.Array | NpgsqlDbType.TimestampTz);
                await theirs.WriteAsync(row.MaybeTimes, NpgsqlDbType.Array | NpgsqlDbType.TimestampTz);
                await theirs.WriteAsync(row.Uuid, NpgsqlDbType.Uuid);
                await theirs.WriteAsync(row.Big, NpgsqlDbType.Bigint);
                await theirs.WriteAsync(row.Json, NpgsqlDbType.Jsonb);
            }

            await theirs.CompleteAsync();
        }

        Assert.Equal(1_000L, await ScalarAsync<long>(connection, "select count(*) from ours"));
        Assert.Equal(0L, await ScalarAsync<long>(connection,
            "select count(*) from ours a full join theirs b using (id) where a is null or b is null or (a.t, a.ts, a.ta, a.tsa, a.tsna, a.u, a.n, a.j) is distinct from (b.t, b.ts, b.ta, b.tsa, b.tsna, b.u, b.n, b.j)"));

        // And as written, read back through Npgsql.
        await using var read = new NpgsqlCommand("select id, t, ts, ta, tsa, tsna, u, n, j::text from ours where id < 40 order by id", connection);
        await using var reader = await read.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var row = rows[reader.GetInt32(0)];
            Assert.Equal(row.Text, reader.IsDBNull(1) ? null : reader.GetString(1));
            Assert.Equal(row.Time is { } t ? Truncated(t) : (DateTimeOffset?)null, reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2));
            Assert.Equal(row.Texts, reader.GetFieldValue<string[]>(3));
            Assert.Equal(row.Times.Select(Truncated), reader.GetFieldValue<DateTimeOffset[]>(4));
            Assert.Equal(row.MaybeTimes.Select(m => m is { } v ? Truncated(v) : (DateTimeOffset?)null), reader.GetFieldValue<DateTimeOffset?[]>(5));
            Assert.Equal(row.Uuid, reader.GetGuid(6));
            Assert.Equal(row.Big, reader.GetInt64(7));
            Assert.Equal(System.Text.Json.JsonDocument.Parse(row.Json).RootElement.GetProperty("text").GetString(), System.Text.Json.JsonDocument.Parse(reader.GetString(8)).RootElement.GetProperty("text").GetString());
        }
    }

    [Fact]
    public async Task Rows_not_completed_are_not_kept_and_the_connection_goes_on()
    {
        await using var connection = new NpgsqlConnection(await postgres.CreateDatabaseAsync());
        await connection.OpenAsync();
        await ExecuteAsync(connection, $"create table ours ({Columns})");

        // Whole rows written, more than the encoder buffers (so most have gone to the server), then the writer given up
        // (an exception in the caller): the COPY is cancelled, not completed.
        using (var ours = await BinaryCopyRows.BeginAsync(connection, "copy ours (id, t, ts, ta, tsa, tsna) from stdin (format binary)", CancellationToken.None))
        {
            for (var id = 0; id < 1_000; id++)
            {
                ours.StartRow(6);
                ours.Integer(id);
                ours.Text(new string('x', 1_000));
                ours.Timestamp(Times[0]);
                ours.TextArray([]);
                ours.TimestampArray(Array.Empty<DateTimeOffset>());
                ours.TimestampArray(Array.Empty<DateTimeOffset?>());
            }
        }

        // A string that is not valid UTF-16 (a lone surrogate) is an error, as with Npgsql's importer, not a replacement.
        using (var ours = await BinaryCopyRows.BeginAsync(connection, "copy ours (id, t, ts, ta, tsa, tsna) from stdin (format binary)", CancellationToken.None))
        {
            ours.StartRow(6);
            ours.Integer(2);
            Assert.ThrowsAny<System.Text.EncoderFallbackException>(() => ours.Text("broken \ud800 surrogate"));
        }

        Assert.Equal(0L, await ScalarAsync<long>(connection, "select count(*) from ours"));
    }

    private static Row RowFor(int id)
    {
        var text = id % 7 == 3 ? null : Hostile[id % Hostile.Length] + (id % 2 == 0 ? "" : $" #{id}");
        var texts = Enumerable.Range(0, id % 4).Select(i => Hostile[(id + i) % (Hostile.Length - 1)]).ToArray();
        var times = Enumerable.Range(0, id % 3).Select(i => Times[(id + i) % Times.Length].AddMinutes(id)).ToArray();
        var maybe = Enumerable.Range(0, id % 5).Select(i => (id + i) % 3 == 0 ? (DateTimeOffset?)null : Times[i % Times.Length]).ToArray();
        // Attributes as the events carry them: a JSON object, here with the hostile strings (escaped as JSON) inside.
        var json = System.Text.Json.JsonSerializer.Serialize(new { text = Hostile[id % Hostile.Length], n = id, nested = new[] { texts } });
        var big = id % 3 == 0 ? long.MaxValue - id : -(long)id * 1_000_000_007L;
        return new Row(id, text, id % 11 == 5 ? null : Times[id % Times.Length].AddSeconds(id), texts, times, maybe, Guid.NewGuid(), big, json);
    }

    // PostgreSQL keeps microseconds, truncated toward zero from .NET's 100 ns ticks since its epoch (as Npgsql encodes).
    private static DateTimeOffset Truncated(DateTimeOffset value)
    {
        var epoch = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;
        return new DateTimeOffset((value.UtcTicks - epoch) / 10 * 10 + epoch, TimeSpan.Zero);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private sealed record Row(
        int Id, string? Text, DateTimeOffset? Time, string[] Texts, DateTimeOffset[] Times, DateTimeOffset?[] MaybeTimes, Guid Uuid, long Big, string Json);
}
