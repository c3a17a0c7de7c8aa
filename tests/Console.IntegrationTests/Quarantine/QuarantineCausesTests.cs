using System.Security.Claims;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using Npgsql;
using OrderFlow.Domain.Actions;
using OrderFlow.Domain.Events;
using OrderFlow.Platform.Kafka;
using OrderFlow.Testing;
using OrderFlow.Web.Actions;
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

            await ProduceUnknownVersionAsync(producer, 2, 7, 42);
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

    [Fact]
    public async Task Dismissing_a_cause_closes_its_records_received_until_then_keeps_them_and_audits_who_did_it()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        await using var dataSource = NpgsqlDataSource.Create(db);
        var queries = new QuarantineQueries(dataSource);
        var actions = new OperatorActions(dataSource, Options.Create(new ActionOptions()), Options.Create(new KafkaOptions { BootstrapServers = _kafka.BootstrapServers }), TimeProvider.System);
        using var producer = _kafka.CreateProducer();

        await using (await IngestHost.StartAsync(db, _kafka.BootstrapServers))
        {
            await ProduceUnknownVersionAsync(producer, 2, 7, 42);
            foreach (var i in new[] { 1, 2 })
            {
                await producer.ProduceAsync(KafkaBroker.OperationalTopic, new Message<string, byte[]> { Key = $"Q-D-JSON-{i}", Value = Encoding.UTF8.GetBytes($"not json {i}") });
            }

            await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from quarantined_records"), n => n == 5, TimeSpan.FromSeconds(60), "5 records quarantined");
        }

        const string Version = "unknown schemaVersion <n> (this console reads <n>)";
        var notJson = (await queries.CausesAsync(null, null)).Single(c => c.Cause != Version).Cause;

        // Refused: a role without the action (before anything is read), no reason, a cause never seen (404 over HTTP).
        Assert.Equal(RefusalCode.NotPermitted, (await actions.DismissQuarantinedAsync(User("bea", OperatorRole.BusinessUser), Guid.NewGuid(), Version, "done")).Refusal);
        Assert.Equal(RefusalCode.ReasonRequired, (await actions.DismissQuarantinedAsync(User("ana", OperatorRole.SupportAgent), Guid.NewGuid(), Version, " ")).Refusal);
        var unknown = await actions.DismissQuarantinedAsync(User("ana", OperatorRole.SupportAgent), Guid.NewGuid(), "no such cause", "done");
        Assert.False(unknown.Accepted);
        Assert.Null(unknown.Refusal);
        Assert.Equal(5, await readModel.CountAsync("select count(*) from quarantined_records where dismissed_at is null"));

        var actionId = Guid.NewGuid();
        var dismissed = await actions.DismissQuarantinedAsync(User("ana", OperatorRole.SupportAgent), actionId, Version, "producer fixed in v1.4");
        Assert.True(dismissed.Accepted);
        Assert.Equal("dismissed 3 quarantined records", dismissed.Message);
        var again = await actions.DismissQuarantinedAsync(User("ana", OperatorRole.SupportAgent), actionId, Version, "producer fixed in v1.4");
        Assert.True(again is { Accepted: true, Duplicate: true });
        Assert.Equal(RefusalCode.NothingToDismiss, (await actions.DismissQuarantinedAsync(User("ana", OperatorRole.SupportAgent), Guid.NewGuid(), Version, "again")).Refusal);

        // Open records only by default; all of them, with who dismissed which, on request; bytes kept.
        Assert.Equal([(notJson, 2L, 2L)], (await queries.CausesAsync(null, null)).Select(c => (c.Cause, c.Count, c.Open)));
        Assert.Equal([(Version, 3L, 0L), (notJson, 2L, 2L)], (await queries.CausesAsync(null, null, includeDismissed: true)).Select(c => (c.Cause, c.Count, c.Open)).OrderByDescending(c => c.Count));
        Assert.Equal(2, (await queries.ListAsync(null, null)).Count);
        var all = await queries.ListAsync(null, null, includeDismissed: true);
        Assert.Equal(5, all.Count);
        Assert.All(all.Where(r => r.Cause == Version), r => Assert.Equal(("ana", actionId), (r.Dismissed!.By, r.Dismissed.ActionId)));
        Assert.All(all.Where(r => r.Cause == notJson), r => Assert.Null(r.Dismissed));
        var record = await queries.FindAsync(all.First(r => r.Cause == Version).Id);
        Assert.Equal(Version, record!.Cause);
        Assert.NotNull(record.Dismissed);
        Assert.Contains("\"schemaVersion\":", Encoding.UTF8.GetString(record.Value!), StringComparison.Ordinal);

        // Audited: the accepted action with what it did, and the two refusals that reached a decision.
        await using (var audit = dataSource.CreateCommand("select actor, role, action, target, result, detail from action_audit where action_id = $1"))
        {
            audit.Parameters.Add(new NpgsqlParameter { Value = actionId });
            await using var r = await audit.ExecuteReaderAsync();
            Assert.True(await r.ReadAsync());
            Assert.Equal(("ana", "SupportAgent", "DismissQuarantined", $"quarantine-cause:{Version}", "accepted", "dismissed 3 quarantined records"),
                (r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5)));
            Assert.False(await r.ReadAsync());
        }

        Assert.Equal(2, await readModel.CountAsync("select count(*) from action_audit where action = 'DismissQuarantined' and result = 'refused'"));

        // A record of the same cause arriving later is open again.
        await using (await IngestHost.StartAsync(db, _kafka.BootstrapServers))
        {
            await ProduceUnknownVersionAsync(producer, 9);
            await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from quarantined_records"), n => n == 6, TimeSpan.FromSeconds(60), "the sixth record quarantined");
        }

        Assert.Contains((await queries.CausesAsync(null, null)), c => c is { Cause: Version, Count: 1, Open: 1 });

        // Two people dismiss it at once: one does, the other is told nothing is open (not "dismissed 0"). Forced: the record
        // is held locked until the first dismissal waits on it and the second waits too, then let go.
        await using (var holder = await dataSource.OpenConnectionAsync())
        {
            await using var hold = await holder.BeginTransactionAsync();
            await using (var lockRecord = new NpgsqlCommand("select id from quarantined_records where cause = $1 and dismissed_at is null for update", holder, hold))
            {
                lockRecord.Parameters.Add(new NpgsqlParameter { Value = Version });
                await lockRecord.ExecuteScalarAsync();
            }

            const string Waiting = "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'";
            var first = actions.DismissQuarantinedAsync(User("ana", OperatorRole.SupportAgent), Guid.NewGuid(), Version, "fixed");
            await Eventually.UntilAsync(() => readModel.CountAsync(Waiting), n => n == 1, TimeSpan.FromSeconds(30), "the first dismissal waiting on the record");
            var second = actions.DismissQuarantinedAsync(User("olu", OperatorRole.OpsLead), Guid.NewGuid(), Version, "fixed too");
            await Eventually.UntilAsync(() => readModel.CountAsync(Waiting), n => n == 2, TimeSpan.FromSeconds(30), "the second dismissal waiting");
            await hold.RollbackAsync();

            Assert.Equal("dismissed 1 quarantined record", (await first).Message);
            Assert.Equal((false, RefusalCode.NothingToDismiss), ((await second).Accepted, (await second).Refusal));
        }
    }

    private static ClaimsPrincipal User(string name, OperatorRole role) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.Role, role.ToString())], "test"));

    private static async Task ProduceUnknownVersionAsync(IProducer<string, byte[]> producer, params int[] versions)
    {
        foreach (var version in versions)
        {
            var json = Encoding.UTF8.GetString(OperationalEventCodec.Serialize(Events.Step($"Q-V{version}", "order-placed", 0)))
                .Replace($"\"schemaVersion\":{OperationalEvent.CurrentSchemaVersion}", $"\"schemaVersion\":{version}", StringComparison.Ordinal);
            await producer.ProduceAsync(KafkaBroker.OperationalTopic, new Message<string, byte[]> { Key = $"Q-V{version}", Value = Encoding.UTF8.GetBytes(json) });
        }
    }

    public void Dispose() => _kafka.Dispose();
}
