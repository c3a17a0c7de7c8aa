using System.Text;
using Confluent.Kafka;
using Npgsql;
using OrderFlow.Domain.Events;
using OrderFlow.Testing;
using OrderFlow.Web.Quarantine;

namespace OrderFlow.IntegrationTests.Quarantine;

/// <summary>
/// The quarantine page groups the records Console.Ingest refused by cause (the error's shape, decision of migration
/// QuarantineCauses) and pages through one cause, newest first. Real broker, the real projection, real PostgreSQL: the
/// reasons are the ones Ingest writes.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class QuarantineCausesTests(PostgresServer postgres) : IDisposable
{
    private readonly KafkaBroker _kafka = new();

    [Fact]
    public async Task Refused_records_group_by_the_shape_of_their_reason_and_list_newest_first_per_cause()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var dataSource = NpgsqlDataSource.Create(db);
        var queries = new QuarantineQueries(dataSource);
        using var producer = _kafka.CreateProducer();

        await using (await IngestHost.StartAsync(db, _kafka.BootstrapServers))
        {
            // Seven records that are not JSON, each with its own bytes (the reason quotes them), one after another so
            // "newest first" has an order to check; three with a schema version this console does not read (the reason
            // names the number); a hostile key; and one valid event that must not be quarantined.
            for (var i = 0; i < 7; i++)
            {
                await producer.ProduceAsync(KafkaBroker.OperationalTopic, new Message<string, byte[]> { Key = $"Q-JSON-{i}", Value = Encoding.UTF8.GetBytes($"not json {i} at all") });
            }

            foreach (var version in new[] { 2, 7, 42 })
            {
                var json = Encoding.UTF8.GetString(OperationalEventCodec.Serialize(Events.Step($"Q-V{version}", "order-placed", 0)))
                    .Replace($"\"schemaVersion\":{OperationalEvent.CurrentSchemaVersion}", $"\"schemaVersion\":{version}", StringComparison.Ordinal);
                await producer.ProduceAsync(KafkaBroker.OperationalTopic, new Message<string, byte[]> { Key = $"Q-V{version}", Value = Encoding.UTF8.GetBytes(json) });
            }

            await producer.ProduceAsync(KafkaBroker.OperationalTopic, new Message<string, byte[]> { Key = "<script>alert('q')</script>", Value = [0xff, 0xfe] });
            await producer.PublishAsync([Events.Step("Q-VALID", "order-placed", 0)]);

            await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from quarantined_records"), n => n == 11, TimeSpan.FromSeconds(60), "11 records quarantined");
            await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from orders where order_id = 'Q-VALID'"), n => n == 1, TimeSpan.FromSeconds(60), "the valid event stored");
        }

        var causes = await queries.CausesAsync(null, null);

        Assert.Equal([7L, 3L, 1L], causes.Select(c => c.Count));
        var notJson = causes[0];
        Assert.StartsWith("payload is not valid JSON: ", notJson.Cause, StringComparison.Ordinal);
        Assert.DoesNotContain("not json", notJson.Cause, StringComparison.Ordinal); // the quoted bytes are taken out...
        Assert.Contains("not json", notJson.Example, StringComparison.Ordinal); // ...and one full reason kept
        Assert.Equal([KafkaBroker.OperationalTopic], notJson.Topics);
        Assert.True(notJson.FirstSeen <= notJson.LastSeen);
        Assert.Equal("unknown schemaVersion <n> (this console reads <n>)", causes[1].Cause);
        Assert.Equal("payload is not valid UTF-<n>", causes[2].Cause); // numbers go, even this one (as for dead letters)

        // Every record, newest first (by when Ingest stored it: records of one batch share that time, then the later row
        // first), each with its cause; one cause's newest, as many as asked for.
        var all = await queries.ListAsync(null, null);
        Assert.Equal(11, all.Count);
        Assert.Equal(all.OrderByDescending(r => r.ReceivedAt).ThenByDescending(r => r.Id).Select(r => r.Id), all.Select(r => r.Id));
        Assert.Equal(7, all.Count(r => r.Cause == notJson.Cause && r.KeyText!.StartsWith("Q-JSON-", StringComparison.Ordinal)));
        Assert.Contains(all, r => r.KeyText == "<script>alert('q')</script>" && r.Cause == causes[2].Cause);
        var newest = await queries.ListAsync(null, null, notJson.Cause, limit: 3);
        Assert.Equal(all.Where(r => r.Cause == notJson.Cause).Take(3).Select(r => r.Id), newest.Select(r => r.Id));
        Assert.Equal(3, newest.Count);

        // The filters narrow the groups and the list alike; "%" and "_" in the reason filter are literal characters.
        Assert.Equal([("unknown schemaVersion <n> (this console reads <n>)", 1L)], (await queries.CausesAsync(null, "schemaVersion 42")).Select(c => (c.Cause, c.Count)));
        Assert.Equal(["Q-V42"], (await queries.ListAsync(null, "schemaVersion 42", null)).Select(r => r.KeyText));
        Assert.Empty(await queries.CausesAsync("another-topic", null));
        Assert.Empty(await queries.CausesAsync(null, "%"));
        Assert.Empty(await queries.ListAsync(null, "_", null));
        Assert.Empty(await queries.ListAsync(null, null, "no such cause"));
    }

    public void Dispose() => _kafka.Dispose();
}
