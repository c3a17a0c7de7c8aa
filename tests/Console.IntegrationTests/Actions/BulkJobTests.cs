using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Confluent.Kafka;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Actions;

/// <summary>
/// Bulk triage end to end on real parts: Console.Web as a process (killed and started again mid-job), Console.Ingest's
/// outbox publisher, PostgreSQL and the Kafka-protocol broker; what was published is read back by an independent consumer.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class BulkJobTests(PostgresServer postgres) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private const string GuardedGroup = "payment-service-under-test";
    private readonly ActionStack _stack = new(postgres, new Dictionary<string, string>
    {
        // A group of its own that the lag sampler does not touch: the guard test sets its status.
        ["Actions__ConsumerGroups__payments-dlq"] = GuardedGroup,
    });

    public Task InitializeAsync() => _stack.StartAsync(Timeout);

    public Task DisposeAsync() => _stack.DisposeAsync().AsTask();

    [Fact]
    public async Task A_bulk_replay_shows_its_dry_run_then_publishes_every_record_once_no_faster_than_its_rate()
    {
        await DeadLettersAsync("ORD-RATE", 60);
        // One earlier dead letter of another topic's order is outside the selection: its later one is a guard violation.
        await DeadLettersAsync("ORD-GUARD", 2, topic: "payments-dlq", sameOrder: true);
        using var lead = Client("lead");

        var created = await lead.PostAsJsonAsync("/api/bulk-jobs/replay", new { jobId = Guid.NewGuid(), reason = "provider fixed", rate = 20, selection = new { error = "ORD-RATE" } });

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var job = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("job");
        var dryRun = job.GetProperty("dryRun");
        Assert.Equal(60, dryRun.GetProperty("records").GetInt32());
        Assert.Equal(60, dryRun.GetProperty("orders").GetInt32());
        Assert.Equal(["order-retry"], dryRun.GetProperty("targetTopics").EnumerateArray().Select(t => t.GetString()));
        Assert.Empty(dryRun.GetProperty("violations").EnumerateArray());
        Assert.Equal(3, dryRun.GetProperty("estimatedSeconds").GetInt32());
        Assert.Equal("dry-run", job.GetProperty("state").GetString());
        var id = job.GetProperty("id").GetGuid();
        Assert.Equal(0, await _stack.ReadModel.CountAsync("select count(*) from outbox where topic = 'order-retry'"));

        Assert.Equal(HttpStatusCode.OK, (await lead.PostAsync($"/api/bulk-jobs/{id}/start", null)).StatusCode);

        await Eventually.UntilAsync(() => JobAsync(lead, id), j => j.GetProperty("job").GetProperty("state").GetString() == "finished", Timeout, "the job finished");
        var replayed = ReadRetryTopic(60);
        Assert.Equal(60, replayed.Select(r => r.Header("replay-dead-letter-id")).Distinct().Count());
        // The cap, from the broker's own timestamps: 60 records at 20/s cannot span less than ~3 s (without it: well under 1 s).
        var stamps = replayed.Select(r => r.Message.Timestamp.UnixTimestampMs).Order().ToList();
        Assert.True(stamps[^1] - stamps[0] >= 2000, $"60 records at 20/s spread over only {stamps[^1] - stamps[0]} ms");
        var results = (await JobAsync(lead, id)).GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(60, results.Count(r => r.GetProperty("state").GetString() == "done"));

        // The guard: a selection holding only the later dead letter of an order is shown the violation in its dry run.
        var later = (long)(await _stack.ReadModel.RowsAsync("select max(id) as id from dead_letters where order_id = 'ORD-GUARD-0'"))[0]["id"]!;
        var guarded = await lead.PostAsJsonAsync("/api/bulk-jobs/replay", new { jobId = Guid.NewGuid(), reason = "guard", deadLetterIds = new[] { later } });
        var violations = (await guarded.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("job").GetProperty("dryRun").GetProperty("violations");
        Assert.Contains("earlier dead letter", Assert.Single(violations.EnumerateArray()).GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_running_bulk_replay_resumes_after_Console_Web_is_killed_and_publishes_no_record_twice()
    {
        await DeadLettersAsync("ORD-RESTART", 80);
        using var lead = Client("lead");
        var id = await CreateAsync(lead, "replay", new { error = "ORD-RESTART" }, rate: 20);
        Assert.Equal(HttpStatusCode.OK, (await lead.PostAsync($"/api/bulk-jobs/{id}/start", null)).StatusCode);
        await Eventually.UntilAsync(() => DoneAsync(id), n => n >= 15, Timeout, "15 records replayed");

        await _stack.KillWebAsync();
        var doneAtKill = await DoneAsync(id);
        Assert.InRange(doneAtKill, 15, 79);
        Assert.Equal("running", (await _stack.ReadModel.RowsAsync($"select state from bulk_jobs where id = '{id}'"))[0]["state"]);
        await _stack.StartWebAsync(Timeout);

        using var again = Client("lead");
        await Eventually.UntilAsync(() => JobAsync(again, id), j => j.GetProperty("job").GetProperty("state").GetString() == "finished", Timeout, "the job finished after the restart");
        var replayed = ReadRetryTopic(80);
        Assert.Equal(80, replayed.Count);
        Assert.Equal(80, replayed.Select(r => r.Header("replay-dead-letter-id")).Distinct().Count());
        Assert.Equal(80, await _stack.ReadModel.CountAsync("select count(*) from dead_letters where status = 'replayed'"));
    }

    [Fact]
    public async Task Pause_and_cancel_stop_publishing_and_resume_goes_on_from_where_it_paused()
    {
        await DeadLettersAsync("ORD-PAUSE", 60);
        using var lead = Client("lead");
        var id = await CreateAsync(lead, "replay", new { error = "ORD-PAUSE" }, rate: 10);
        await lead.PostAsync($"/api/bulk-jobs/{id}/start", null);
        await Eventually.UntilAsync(() => DoneAsync(id), n => n >= 5, Timeout, "5 records replayed");

        Assert.Equal(HttpStatusCode.OK, (await lead.PostAsync($"/api/bulk-jobs/{id}/pause", null)).StatusCode);
        var atPause = await DoneAsync(id);
        Assert.Equal(atPause, await PublishedOfJobAsync());
        Assert.Equal(atPause, await DoneAsync(id));

        Assert.Equal(HttpStatusCode.OK, (await lead.PostAsync($"/api/bulk-jobs/{id}/resume", null)).StatusCode);
        await Eventually.UntilAsync(() => DoneAsync(id), n => n >= atPause + 5, Timeout, "5 more records after resume");
        Assert.Equal(HttpStatusCode.OK, (await lead.PostAsync($"/api/bulk-jobs/{id}/cancel", null)).StatusCode);
        var atCancel = await DoneAsync(id);

        Assert.Equal(atCancel, await PublishedOfJobAsync());
        Assert.InRange(atCancel, atPause + 5, 59);
        var job = (await JobAsync(lead, id)).GetProperty("job");
        Assert.Equal("cancelled", job.GetProperty("state").GetString());
        Assert.Equal(60 - atCancel, job.GetProperty("pending").GetInt32());
        Assert.Equal(HttpStatusCode.Conflict, (await lead.PostAsync($"/api/bulk-jobs/{id}/resume", null)).StatusCode);
    }

    [Fact]
    public async Task A_bulk_purge_runs_only_after_a_second_ops_lead_approves_it()
    {
        await DeadLettersAsync("ORD-PURGE", 3);
        using var lead = Client("lead");
        using var lead2 = Client("lead2");
        var id = await CreateAsync(lead, "purge", new { error = "ORD-PURGE" }, rate: 50);

        Assert.Equal(HttpStatusCode.OK, (await lead.PostAsync($"/api/bulk-jobs/{id}/start", null)).StatusCode);
        Assert.Equal("awaiting-approval", (await JobAsync(lead, id)).GetProperty("job").GetProperty("state").GetString());
        var own = await lead.PostAsync($"/api/bulk-jobs/{id}/approve", null);
        Assert.Equal(HttpStatusCode.Conflict, own.StatusCode);
        Assert.Equal("OwnRequest", (await own.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("refused").GetString());
        Assert.Equal(3, await _stack.ReadModel.CountAsync("select count(*) from dead_letters where status = 'new'"));

        Assert.Equal(HttpStatusCode.OK, (await lead2.PostAsync($"/api/bulk-jobs/{id}/approve", null)).StatusCode);

        var job = await Eventually.UntilAsync(() => JobAsync(lead, id), j => j.GetProperty("job").GetProperty("state").GetString() == "finished", Timeout, "the purge ran");
        Assert.Equal("apikey:lead2", job.GetProperty("job").GetProperty("approvedBy").GetString());
        Assert.Equal(3, await _stack.ReadModel.CountAsync("select count(*) from dead_letters where status = 'purged'"));
        var purged = IndependentConsumer.ReadUntil(_stack.Kafka.BootstrapServers, "order-control", _ => true, 3, Timeout);
        Assert.Equal(3, purged.Count(r => r.Message.Value.AsSpan().IndexOf("dead-letter-purged"u8) >= 0));
        // Audited: the refused self-approval and the second lead's approval, each by name.
        Assert.Equal(1, await _stack.ReadModel.CountAsync($"select count(*) from action_audit where action = 'ApproveBulkPurge' and result = 'refused' and actor = 'apikey:lead' and target = 'bulk-job:{id}'"));
        Assert.Equal(1, await _stack.ReadModel.CountAsync($"select count(*) from action_audit where action = 'ApproveBulkPurge' and result = 'accepted' and actor = 'apikey:lead2'"));
        Assert.Equal(3, await _stack.ReadModel.CountAsync("select count(*) from action_audit where action = 'BulkPurge' and target like 'dead-letter:%' and result = 'accepted'"));
    }

    [Fact]
    public async Task While_the_consuming_group_is_stalled_a_replay_needs_confirmation_single_or_bulk()
    {
        var ids = await DeadLettersAsync("ORD-STALL", 3);
        await using (var connection = new Npgsql.NpgsqlConnection(_stack.Db))
        {
            await connection.OpenAsync();
            await using var stall = new Npgsql.NpgsqlCommand(
                $"insert into consumer_lag_status values ('{GuardedGroup}', 'order-retry', 0, 'STALL', 500, 30, 'committed offset not moving', now())", connection);
            await stall.ExecuteNonQueryAsync();
        }

        using var agent = Client("agent");
        var unconfirmed = await agent.PostAsJsonAsync($"/api/dead-letters/{ids[0]}/replay", new { actionId = Guid.NewGuid(), reason = "try" });
        Assert.Equal(HttpStatusCode.Conflict, unconfirmed.StatusCode);
        Assert.Equal("ConfirmationRequired", (await unconfirmed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("refused").GetString());
        Assert.Equal(HttpStatusCode.Accepted, (await agent.PostAsJsonAsync($"/api/dead-letters/{ids[0]}/replay", new { actionId = Guid.NewGuid(), reason = "known", confirmed = true })).StatusCode);

        using var lead = Client("lead");
        var created = await lead.PostAsJsonAsync("/api/bulk-jobs/replay", new { jobId = Guid.NewGuid(), reason = "bulk", deadLetterIds = ids.Skip(1).ToArray() });
        var job = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("job");
        Assert.Contains($"{GuardedGroup} (reads order-retry) is STALL", Assert.Single(job.GetProperty("dryRun").GetProperty("violations").EnumerateArray()).GetString(), StringComparison.Ordinal);
        var id = job.GetProperty("id").GetGuid();
        await lead.PostAsync($"/api/bulk-jobs/{id}/start", null);
        var done = await Eventually.UntilAsync(() => JobAsync(lead, id), j => j.GetProperty("job").GetProperty("state").GetString() == "finished", Timeout, "the job finished");
        Assert.All(done.GetProperty("results").EnumerateArray(), r => Assert.Contains("confirm to replay anyway", r.GetProperty("detail").GetString(), StringComparison.Ordinal));
        Assert.Equal(2, done.GetProperty("job").GetProperty("refused").GetInt32());
    }

    /// <summary>A client with the API key of one of the test users (two OpsLeads: lead and lead2).</summary>
    private HttpClient Client(string user) => _stack.Client(TestUsers.All.First(u => u.User == user).ApiKey);

    private static async Task<Guid> CreateAsync(HttpClient http, string kind, object selection, int rate)
    {
        var response = await http.PostAsJsonAsync($"/api/bulk-jobs/{kind}", new { jobId = Guid.NewGuid(), reason = "bulk test", rate, selection });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("job").GetProperty("id").GetGuid();
    }

    private static async Task<JsonElement> JobAsync(HttpClient http, Guid id) => await http.GetFromJsonAsync<JsonElement>($"/api/bulk-jobs/{id}");

    private Task<long> DoneAsync(Guid id) => _stack.ReadModel.CountAsync($"select count(*) from bulk_job_records where job_id = '{id}' and state = 'done'");

    /// <summary>
    /// Once the outbox holds nothing undelivered, reads order-retry to its end with an independent consumer: how many
    /// of the job's records (replayed by the lead) Kafka holds.
    /// </summary>
    private async Task<int> PublishedOfJobAsync()
    {
        await Eventually.UntilAsync(() => _stack.ReadModel.CountAsync("select count(*) from outbox where published_at is null"), n => n == 0, Timeout, "the outbox delivered");
        return IndependentConsumer.ReadAll(_stack.Kafka.BootstrapServers, "order-retry", Timeout).Count(r => r.Header("replay-actor") == "apikey:lead");
    }

    private List<ConsumeResult<byte[], byte[]>> ReadRetryTopic(int count) =>
        IndependentConsumer.ReadUntil(_stack.Kafka.BootstrapServers, "order-retry", _ => true, count, Timeout);

    /// <summary>Publishes <paramref name="count"/> dead letters (orders prefix-0, prefix-1, … unless <paramref name="sameOrder"/>) and waits until Ingest stored them.</summary>
    private async Task<List<long>> DeadLettersAsync(string prefix, int count, string topic = "payments-dlq", bool sameOrder = false)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = _stack.Kafka.BootstrapServers }).Build();
        var before = await _stack.ReadModel.CountAsync("select count(*) from dead_letters");
        for (var i = 0; i < count; i++)
        {
            var order = sameOrder ? $"{prefix}-0" : $"{prefix}-{i}";
            var value = System.Text.Encoding.UTF8.GetBytes($$"""{"eventId":"{{Guid.NewGuid()}}","orderId":"{{order}}","step":"payment-authorized"}""");
            await producer.ProduceAsync(topic, new Message<byte[], byte[]>
            {
                Key = System.Text.Encoding.UTF8.GetBytes(order),
                Value = value,
                Headers = new Headers { { "dlq-error-reason", System.Text.Encoding.UTF8.GetBytes($"provider timeout for {prefix}") } },
            });
        }

        await Eventually.UntilAsync(() => _stack.ReadModel.CountAsync("select count(*) from dead_letters"), n => n == before + count, Timeout, $"{count} dead letters stored");
        return (await _stack.ReadModel.RowsAsync($"select id from dead_letters order by id desc limit {count}")).Select(r => (long)r["id"]!).Order().ToList();
    }
}
