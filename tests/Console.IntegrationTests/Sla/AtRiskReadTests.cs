using System.Text.Json;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Sla;

/// <summary>
/// At-risk is read against the clock (decision 0011): an order whose row was written on-track shows at-risk through the
/// JSON API once its at-risk moment has passed, with nobody rewriting the row. Real broker, PostgreSQL and Console.Web.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class AtRiskReadTests(PostgresServer postgres) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly KafkaBroker _kafka = new();

    [Fact]
    public async Task An_order_turns_at_risk_in_the_api_when_its_time_comes_without_a_write()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        // Payment within 5 minutes, at risk after 80 % (4 minutes); the end-to-end clock far away.
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: new Dictionary<string, string?>
        {
            ["Sla:ExpiryPolicy"] = "AlertOnly",
            ["Workflow:EndToEndSla"] = "01:00:00",
            ["Workflow:Steps:1:Sla"] = "00:05:00",
            ["Workflow:Steps:2:Sla"] = "00:30:00",
        });
        var webUrl = $"http://127.0.0.1:{PostgresServer.FreePort()}";
        await using var web = AppProcess.Start("Console.Web", TestUsers.With(new Dictionary<string, string>
        {
            ["ConnectionStrings__ReadModel"] = db,
            ["Kafka__BootstrapServers"] = _kafka.BootstrapServers,
            ["Workflow__EndToEndSla"] = "01:00:00",
            ["Workflow__Steps__1__Sla"] = "00:05:00",
            ["Workflow__Steps__2__Sla"] = "00:30:00",
        }), "--urls", webUrl);
        using var producer = _kafka.CreateProducer();

        // Placed 3 min 50 s ago: payment turns at-risk 10 s from now.
        await producer.PublishAsync([Events.StepAt("ORD-RISK", "order-placed", DateTimeOffset.UtcNow.AddSeconds(-230))]);
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from orders where order_id = 'ORD-RISK'"), n => n == 1, Timeout, "the order projected");
        var row = Assert.Single(await readModel.RowsAsync("select sla_state, sla_at_risk_at, updated_at from orders where order_id = 'ORD-RISK'"));
        Assert.Equal("on-track", row["sla_state"]);
        var atRiskAt = (DateTime)row["sla_at_risk_at"]!;
        Assert.True((DateTime)row["updated_at"]! < atRiskAt, "the row was written before the order was at risk");

        await web.WaitForHealthyAsync(webUrl, Timeout);
        using var http = new HttpClient { BaseAddress = new Uri(webUrl) };
        http.DefaultRequestHeaders.Add("X-Api-Key", TestUsers.ApiKeyOf("BusinessUser"));
        var seen = await Eventually.UntilAsync(() => SlaStateAsync(http, "at-risk"), s => s == "at-risk", Timeout, "ORD-RISK listed at-risk");

        Assert.Equal("at-risk", seen);
        Assert.True(DateTime.UtcNow >= atRiskAt);
        Assert.Null(await SlaStateAsync(http, "on-track"));
        // Nobody wrote the transition: the row is as the projection left it.
        Assert.Equal("on-track", (await readModel.RowsAsync("select sla_state from orders where order_id = 'ORD-RISK'"))[0]["sla_state"]);
        Assert.Equal(0, await readModel.CountAsync("select count(*) from sla_breaches"));
    }

    /// <summary>The order's slaState in the API's list filtered by an SLA state, or null when the filter leaves it out.</summary>
    private static async Task<string?> SlaStateAsync(HttpClient http, string filter)
    {
        using var page = JsonDocument.Parse(await http.GetStringAsync($"/api/orders?status={filter}&search=ORD-RISK"));
        var items = page.RootElement.GetProperty("items");
        return items.GetArrayLength() == 0 ? null : items[0].GetProperty("slaState").GetString();
    }

    public void Dispose() => _kafka.Dispose();
}
