using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Npgsql;
using OrderFlow.Domain.Actions;
using OrderFlow.Domain.Control;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Actions;

/// <summary>
/// Operator actions end to end on real parts: Console.Web as a process (HTTP with API keys), Console.Ingest's outbox
/// publisher, PostgreSQL and the Kafka-protocol broker; records read back by an independent consumer.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class OperatorActionTests(PostgresServer postgres) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly ActionStack _stack = new(postgres);

    public Task InitializeAsync() => _stack.StartAsync(Timeout);

    public Task DisposeAsync() => _stack.DisposeAsync().AsTask();

    [Fact]
    public async Task A_replayed_record_reaches_the_retry_topic_byte_for_byte_with_every_header_and_the_replay_headers()
    {
        byte[] key = [0x4f, 0x52, 0x44, 0x2d, 0x52, 0x31, 0xff, 0x00];
        byte[] value = Encoding.UTF8.GetBytes("""{"eventId":"x","orderId":"ORD-R1","step":"order-placed","note":"<script>\u00e9"}""");
        var headers = new Headers
        {
            { "dlq-original-topic", "order-ops"u8.ToArray() },
            { "dlq-original-partition", "0"u8.ToArray() },
            { "dlq-original-offset", "17"u8.ToArray() },
            { "dlq-error-reason", "payment provider timeout"u8.ToArray() },
            { "binary", [0x00, 0xfe, 0x01] },
            { "empty", null },
        };
        var id = await DeadLetterAsync(key, value, headers);
        var actionId = Guid.NewGuid();

        using var http = Client("SupportAgent");
        var response = await http.PostAsJsonAsync($"/api/dead-letters/{id}/replay", new { actionId, reason = "provider fixed" });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var replayed = Consume("order-retry", 1).Single();
        Assert.Equal(key, replayed.Message.Key);
        Assert.Equal(value, replayed.Message.Value);
        var got = replayed.Message.Headers.Select(h => (h.Key, Value: h.GetValueBytes())).ToList();
        Assert.Equal(headers.Select(h => (h.Key, Value: h.GetValueBytes())), got.Take(headers.Count));
        var replay = got.Skip(headers.Count).ToDictionary(h => h.Key, h => h.Value is null ? null : Encoding.UTF8.GetString(h.Value));
        Assert.Equal(actionId.ToString("D"), replay["replay-action-id"]);
        Assert.Equal("apikey:agent", replay["replay-actor"]);
        Assert.Equal(id.ToString(System.Globalization.CultureInfo.InvariantCulture), replay["replay-dead-letter-id"]);
        Assert.Equal("order-ops", replay["replay-original-topic"]);
        Assert.Equal("0", replay["replay-original-partition"]);
        Assert.Equal("17", replay["replay-original-offset"]);

        var control = Consume("order-control", 1).Single();
        Assert.True(ControlEventCodec.TryParse(control.Message.Key, control.Message.Value, out var command, out var error), error);
        Assert.Equal(actionId, command!.CommandId);
        var data = Assert.IsType<DeadLetterReplayed>(command.Data);
        Assert.Equal(("payments-dlq", "order-retry", 17L), (data.DeadLetterTopic, data.RetryTopic, data.SourceOffset!.Value));
        Assert.Equal("replayed", (await _stack.ReadModel.RowsAsync($"select status from dead_letters where id = {id}"))[0]["status"]);

        // The audit trail names where both messages landed.
        var audit = await Eventually.UntilAsync(() => ActionAsync(http, actionId), a => a.GetProperty("delivery").GetString() == "delivered", Timeout, "the action delivered");
        var deliveries = audit.GetProperty("deliveries").EnumerateArray().Select(d => (d.GetProperty("topic").GetString(), d.GetProperty("offset").GetInt64())).ToList();
        Assert.Equal([("order-retry", replayed.Offset.Value), ("order-control", control.Offset.Value)], deliveries);
    }

    [Fact]
    public async Task A_double_submission_publishes_once()
    {
        var id = await DeadLetterAsync("ORD-D1"u8.ToArray(), "{}"u8.ToArray(), []);
        var actionId = Guid.NewGuid();
        using var http = Client("SupportAgent");

        var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => http.PostAsJsonAsync($"/api/dead-letters/{id}/replay", new { actionId, reason = "twice" })));

        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.Accepted));
        Assert.Equal(3, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        // A later action on the same order (same key, same partition) is the marker: everything before it has been read.
        var marker = await DeadLetterAsync("ORD-D1"u8.ToArray(), "{}"u8.ToArray(), []);
        Assert.Equal(HttpStatusCode.Accepted, (await Client("OpsLead").PostAsJsonAsync($"/api/dead-letters/{marker}/purge", new { actionId = Guid.NewGuid(), reason = "marker" })).StatusCode);
        var control = ConsumeUntil("order-control", r => r.Message.Value.AsSpan().IndexOf("dead-letter-purged"u8) >= 0);
        Assert.Single(control, r => r.Message.Value.AsSpan().IndexOf("dead-letter-replayed"u8) >= 0);
        Assert.Equal(1, await _stack.ReadModel.CountAsync("select count(*) from outbox where topic = 'order-retry'"));
        Assert.Equal(1, await _stack.ReadModel.CountAsync($"select count(*) from action_audit where action_id = '{actionId}'"));
    }

    [Fact]
    public async Task An_action_taken_while_the_broker_is_down_is_delivered_once_when_it_returns_and_shown_pending_until_then()
    {
        await CreateOrderAsync("ORD-DOWN");
        _stack.Kafka.Cluster.SetBrokerDown(1);
        var actionId = Guid.NewGuid();
        using var http = Client("SupportAgent");

        var response = await http.PostAsJsonAsync("/api/orders/ORD-DOWN/expiry", new { actionId, reason = "customer asked" });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await Eventually.UntilAsync(() => _stack.ReadModel.CountAsync($"select count(*) from outbox where action_id = '{actionId}' and published_at is null and attempts > 0"), n => n == 1, Timeout, "a failed publish attempt while the broker is down");
        Assert.Equal("pending", (await ActionAsync(http, actionId)).GetProperty("delivery").GetString());

        _stack.Kafka.Cluster.SetBrokerUp(1);

        await Eventually.UntilAsync(() => ActionAsync(http, actionId), a => a.GetProperty("delivery").GetString() == "delivered", Timeout, "delivered after the broker returned");
        // A second request for the same order (same key, same partition) is the marker: everything before it has been read.
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsJsonAsync("/api/orders/ORD-DOWN/expiry", new { actionId = Guid.NewGuid(), reason = "marker" })).StatusCode);
        var control = ConsumeUntil("order-control", r => r.Message.Value.AsSpan().IndexOf("marker"u8) >= 0);
        Assert.Single(control, r => r.Message.Value.AsSpan().IndexOf(Encoding.UTF8.GetBytes(actionId.ToString("D"))) >= 0);
        Assert.Equal(2, control.Count);
    }

    [Fact]
    public async Task An_outreach_requested_from_the_console_counts_in_the_funnel_before_the_payment_service_answers_and_once()
    {
        using var producer = _stack.Kafka.CreateProducer();
        var now = DateTimeOffset.UtcNow;
        await producer.PublishAsync([
            Events.StepAt("ORD-FUNNEL", "order-placed", now),
            new OrderFlow.Domain.Events.OperationalEvent(Guid.NewGuid(), "ORD-FUNNEL", "payment-authorized", "payment-service", OrderFlow.Domain.Events.StepOutcome.Failed, "card declined", now, 1, "{}"),
        ]);
        await Eventually.UntilAsync(() => _stack.ReadModel.CountAsync("select count(*) from orders where order_id = 'ORD-FUNNEL' and last_failure is not null"), n => n == 1, Timeout, "the failed payment projected");
        using var agent = Client("SupportAgent");
        var actionId = Guid.NewGuid();

        // Sent twice (a double click): one request.
        foreach (var _ in new[] { 1, 2 })
        {
            Assert.True((await agent.PostAsJsonAsync("/api/orders/ORD-FUNNEL/outreach", new { actionId, reason = "customer called", channel = "email" })).IsSuccessStatusCode);
        }

        using var business = Client("BusinessUser");
        var funnel = await business.GetFromJsonAsync<JsonElement>("/api/reports/outreach");
        Assert.Equal(1, funnel.GetProperty("requested").GetInt64());
        Assert.Equal(0, funnel.GetProperty("paid").GetInt64());
        Assert.Equal(0, funnel.GetProperty("failedAgain").GetInt64());
    }

    [Fact]
    public async Task The_ordering_guard_refuses_to_replay_a_later_dead_letter_of_an_order_before_an_earlier_one_unless_an_ops_lead_forces_it()
    {
        var first = await DeadLetterAsync("ORD-ORDER"u8.ToArray(), "{\"n\":1}"u8.ToArray(), []);
        var second = await DeadLetterAsync("ORD-ORDER"u8.ToArray(), "{\"n\":2}"u8.ToArray(), []);

        var refused = await Client("SupportAgent").PostAsJsonAsync($"/api/dead-letters/{second}/replay", new { actionId = Guid.NewGuid(), reason = "try", force = true });
        var unforced = await Client("OpsLead").PostAsJsonAsync($"/api/dead-letters/{second}/replay", new { actionId = Guid.NewGuid(), reason = "try" });
        var forced = await Client("OpsLead").PostAsJsonAsync($"/api/dead-letters/{second}/replay", new { actionId = Guid.NewGuid(), reason = "known safe", force = true });

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal(nameof(RefusalCode.ForceNeedsOpsLead), (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("refused").GetString());
        Assert.Equal(HttpStatusCode.Conflict, unforced.StatusCode);
        Assert.Contains("earlier dead letter", await unforced.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Accepted, forced.StatusCode);
        Assert.Equal("new", (await _stack.ReadModel.RowsAsync($"select status from dead_letters where id = {first}"))[0]["status"]);
        Assert.Equal(2, await _stack.ReadModel.CountAsync("select count(*) from action_audit where result = 'refused'"));
    }

    [Fact]
    public async Task The_audit_trail_is_append_only_for_the_applications_database_user()
    {
        await CreateOrderAsync("ORD-AUDIT");
        Assert.Equal(HttpStatusCode.Accepted, (await Client("SupportAgent").PostAsJsonAsync("/api/orders/ORD-AUDIT/expiry", new { actionId = Guid.NewGuid(), reason = "r" })).StatusCode);
        await using var connection = new NpgsqlConnection(_stack.Db);
        await connection.OpenAsync();

        foreach (var sql in new[] { "update action_audit set reason = 'changed'", "delete from action_audit", "truncate action_audit" })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
            Assert.Contains("append-only", error.MessageText, StringComparison.Ordinal);
        }

        Assert.Equal(1, await _stack.ReadModel.CountAsync("select count(*) from action_audit where reason = 'r'"));
    }

    /// <summary>Every action the console offers over HTTP × every role × anonymous, from the one permission table.</summary>
    [Fact]
    public async Task Every_action_endpoint_admits_exactly_the_roles_of_the_permission_table()
    {
        var failures = new List<string>();
        foreach (var (action, path) in AuthorizationMatrix.HttpEndpoints)
        {
            foreach (var role in Enum.GetValues<OperatorRole>())
            {
                using var http = Client(role.ToString());
                var status = (await http.PostAsJsonAsync(path, AuthorizationMatrix.Body())).StatusCode;
                // Allowed: past the gate, to a target that does not exist (404). Not allowed: 403.
                var expected = ActionPermissions.Allows(role, action) ? HttpStatusCode.NotFound : HttpStatusCode.Forbidden;
                if (status != expected)
                {
                    failures.Add($"{action} {path} as {role}: {(int)status}, expected {(int)expected}");
                }
            }

            using var anonymous = new HttpClient { BaseAddress = new Uri(_stack.WebUrl) };
            var anonymousStatus = (await anonymous.PostAsJsonAsync(path, AuthorizationMatrix.Body())).StatusCode;
            if (anonymousStatus != HttpStatusCode.Unauthorized)
            {
                failures.Add($"{action} {path} anonymous: {(int)anonymousStatus}, expected 401");
            }
        }

        Assert.Empty(failures);
        Assert.Equal(HttpStatusCode.Unauthorized, (await new HttpClient { BaseAddress = new Uri(_stack.WebUrl) }.GetAsync("/api/orders")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await new HttpClient { BaseAddress = new Uri(_stack.WebUrl) }.GetAsync("/api/audit")).StatusCode);
    }

    private HttpClient Client(string role) => _stack.Client(TestUsers.ApiKeyOf(role));

    private static async Task<JsonElement> ActionAsync(HttpClient http, Guid actionId) =>
        await http.GetFromJsonAsync<JsonElement>($"/api/actions/{actionId:D}");

    private async Task<long> DeadLetterAsync(byte[] key, byte[] value, Headers headers)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = _stack.Kafka.BootstrapServers }).Build();
        var before = await _stack.ReadModel.CountAsync("select count(*) from dead_letters");
        await producer.ProduceAsync("payments-dlq", new Message<byte[], byte[]> { Key = key, Value = value, Headers = headers });
        await Eventually.UntilAsync(() => _stack.ReadModel.CountAsync("select count(*) from dead_letters"), n => n == before + 1, Timeout, "the dead letter stored");
        return (long)(await _stack.ReadModel.RowsAsync("select max(id) as id from dead_letters"))[0]["id"]!;
    }

    private async Task CreateOrderAsync(string orderId)
    {
        using var producer = _stack.Kafka.CreateProducer();
        await producer.PublishAsync([Events.StepAt(orderId, "order-placed", DateTimeOffset.UtcNow)]);
        await Eventually.UntilAsync(() => _stack.ReadModel.CountAsync($"select count(*) from orders where order_id = '{orderId}'"), n => n == 1, Timeout, "the order projected");
    }

    private List<ConsumeResult<byte[], byte[]>> Consume(string topic, int count) =>
        ConsumeUntil(topic, _ => true, count);

    /// <summary>An independent consumer reads the topic from the start until a record matches (and at least <paramref name="atLeast"/>).</summary>
    private List<ConsumeResult<byte[], byte[]>> ConsumeUntil(string topic, Func<ConsumeResult<string, byte[]>, bool> last, int atLeast = 1) =>
        IndependentConsumer.ReadUntil(_stack.Kafka.BootstrapServers, topic, last, atLeast, Timeout);
}

/// <summary>
/// The authorization matrix's one table: every operator action with the HTTP endpoint that takes it. An action missing
/// here fails <see cref="AuthorizationMatrixTests"/>: a new action cannot be added without its row.
/// </summary>
public static class AuthorizationMatrix
{
    public static readonly IReadOnlyList<(OperatorAction Action, string Path)> HttpEndpoints =
    [
        (OperatorAction.Replay, "/api/dead-letters/999999/replay"),
        (OperatorAction.Purge, "/api/dead-letters/999999/purge"),
        (OperatorAction.Skip, "/api/dead-letters/999999/skip"),
        (OperatorAction.PaymentRetryOutreach, "/api/orders/ORD-NOWHERE/outreach"),
        (OperatorAction.ManualExpiry, "/api/orders/ORD-NOWHERE/expiry"),
        (OperatorAction.DismissQuarantined, "/api/quarantine/dismiss"),
        (OperatorAction.BulkReplay, "/api/bulk-jobs/replay"),
        (OperatorAction.BulkReplay, $"/api/bulk-jobs/{NoJob}/start"),
        (OperatorAction.BulkReplay, $"/api/bulk-jobs/{NoJob}/pause"),
        (OperatorAction.BulkReplay, $"/api/bulk-jobs/{NoJob}/resume"),
        (OperatorAction.BulkReplay, $"/api/bulk-jobs/{NoJob}/cancel"),
        (OperatorAction.BulkPurge, "/api/bulk-jobs/purge"),
        (OperatorAction.ApproveBulkPurge, $"/api/bulk-jobs/{NoJob}/approve"),
    ];

    /// <summary>The body every row is sent: enough for each endpoint to get past its gate to a target that does not exist.</summary>
    public static object Body() => new { actionId = Guid.NewGuid(), jobId = Guid.NewGuid(), reason = "matrix", channel = "email", deadLetterIds = new[] { 999999L }, cause = "matrix: no such cause" };

    private const string NoJob = "00000000-0000-4000-8000-000000000999";
}

public sealed class AuthorizationMatrixTests
{
    [Fact]
    public void Every_operator_action_has_a_row_in_the_matrix()
    {
        var covered = AuthorizationMatrix.HttpEndpoints.Select(e => e.Action).Distinct().Order();
        Assert.Equal(Enum.GetValues<OperatorAction>().Order(), covered);
    }
}
