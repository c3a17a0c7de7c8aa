using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Playwright;
using OrderFlow.Domain.Events;
using OrderFlow.Testing;

namespace OrderFlow.BrowserTests;

/// <summary>The ops lead's and business user's views (flow, lag, reports), the wallboard hub and the API document, on the real processes.</summary>
public sealed class FlowViewsTests(ConsoleFixture console) : IClassFixture<ConsoleFixture>
{
    private static readonly LocatorAssertionsToBeVisibleOptions Visible = new() { Timeout = 30_000 };

    private static IEnumerable<OperationalEvent> Placed(string prefix, int count) =>
        Enumerable.Range(0, count).Select(i => Events.StepAt($"{prefix}-{i}", "order-placed", DateTimeOffset.UtcNow));

    private static async Task<long> NumberAsync(ILocator locator) =>
        long.Parse((await locator.TextContentAsync())!.Replace(",", "", StringComparison.Ordinal).Trim(), System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task Publishing_orders_moves_the_dashboard_numbers_without_reload()
    {
        using var producer = console.Kafka.CreateProducer();
        await producer.PublishAsync(Placed("FLOW-A-" + Guid.NewGuid().ToString("N")[..6], 2));
        var page = await console.NewPageAsync();
        await console.OpenAsync(page, "/flow");
        var waiting = page.Locator("[data-testid=flow-step][data-step=payment-authorized] [data-testid=flow-waiting]");
        await Assertions.Expect(waiting).Not.ToHaveTextAsync("0", new() { Timeout = 30_000 });
        var before = await NumberAsync(waiting);
        var navigations = 0;
        page.FrameNavigated += (_, frame) => navigations += frame == page.MainFrame ? 1 : 0;

        await producer.PublishAsync(Placed("FLOW-B-" + Guid.NewGuid().ToString("N")[..6], 3));

        await Assertions.Expect(waiting).ToHaveTextAsync((before + 3).ToString("N0", System.Globalization.CultureInfo.InvariantCulture), new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("[data-step=payment-authorized] [data-testid=graph-step-detail]")).ToContainTextAsync($"{before + 3} waiting");
        await Assertions.Expect(page.GetByTestId("chart-events")).ToHaveAttributeAsync("data-series", "1");
        Assert.Equal(0, navigations);
        await ConsoleFixture.ScreenshotAsync(page, "flow-light");

        var dark = await console.NewPageAsync(dark: true);
        await console.OpenAsync(dark, "/flow/wallboard");
        await Assertions.Expect(dark.GetByTestId("tile-in-flight")).ToBeVisibleAsync(Visible);
        await Assertions.Expect(dark.Locator("[data-testid=flow-step][data-step=payment-authorized] [data-testid=flow-waiting]")).ToHaveTextAsync((before + 3).ToString("N0", System.Globalization.CultureInfo.InvariantCulture), new() { Timeout = 30_000 });
        await ConsoleFixture.ScreenshotAsync(dark, "flow-wallboard");
    }

    [Fact]
    public async Task The_lag_page_shows_the_console_group_with_its_partitions_and_status()
    {
        using var producer = console.Kafka.CreateProducer();
        await producer.PublishAsync(Placed("LAG-" + Guid.NewGuid().ToString("N")[..6], 4));
        var page = await console.NewPageAsync(dark: true);
        await console.OpenAsync(page, "/lag");

        var group = page.Locator("[data-testid=lag-group][data-group=order-flow-console]");
        await Assertions.Expect(group).ToBeVisibleAsync(new() { Timeout = 60_000 });
        await Assertions.Expect(group.GetByTestId("lag-group-status")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^(OK|WARN|STALL|STOP|REWIND)$"));
        await Assertions.Expect(group.GetByTestId("lag-impact")).ToHaveTextAsync("no step mapped to this group");
        Assert.True(await group.GetByTestId("lag-partition").CountAsync() >= 1);
        await ConsoleFixture.ScreenshotAsync(page, "lag-dark");
    }

    [Fact]
    public async Task The_expiry_report_counts_each_order_once_and_its_csv_holds_what_the_table_shows()
    {
        var prefix = "REP-" + Guid.NewGuid().ToString("N")[..6];
        var now = DateTimeOffset.UtcNow;
        var expiredId = Guid.NewGuid();
        using var producer = console.Kafka.CreateProducer();
        await producer.PublishAsync([
            Events.StepAt(prefix + "-1", "order-placed", now.AddMinutes(-3)),
            new OperationalEvent(expiredId, prefix + "-1", "order-expired", "order-service", StepOutcome.Succeeded, "given up", now.AddMinutes(-2), 1, "{}"),
            // The same event delivered again: counted once.
            new OperationalEvent(expiredId, prefix + "-1", "order-expired", "order-service", StepOutcome.Succeeded, "given up", now.AddMinutes(-2), 1, "{}"),
            Events.StepAt(prefix + "-2", "order-placed", now.AddMinutes(-3)),
            Events.StepAt(prefix + "-2", "order-completed", now.AddMinutes(-1)),
        ]);
        var today = now.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var page = await console.NewPageAsync();
        await console.OpenAsync(page, $"/reports?from={today}&to={today}&bucket=day");

        // Only this test ends orders in this fixture: two ended, one expired (its duplicate not counted), by "other".
        var row = page.GetByTestId("expiry-row").First;
        await Assertions.Expect(row.Locator("td").Nth(1)).ToHaveTextAsync("2", new() { Timeout = 30_000 });
        await Assertions.Expect(row.Locator("td").Nth(2)).ToHaveTextAsync("1");
        var cells = await row.Locator("td").AllTextContentsAsync();
        Assert.Equal([today, "2", "1", "50.0%", "0", "0", "1"], cells);
        Assert.Equal(1, await page.Locator("[data-testid=table-expiry] tbody tr").CountAsync());
        // Nobody asked for an outreach in this fixture: a sentence says so and how, instead of a chart of zeros.
        await Assertions.Expect(page.GetByTestId("chart-outreach").GetByTestId("chart-empty")).ToContainTextAsync("No payment-retry outreach was requested in this range");
        Assert.Equal(0, await page.GetByTestId("chart-outreach").Locator("svg").CountAsync());
        await Assertions.Expect(page.GetByTestId("chart-expiry").Locator("svg")).ToHaveCountAsync(1);
        await ConsoleFixture.ScreenshotAsync(page, "reports-light");

        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByTestId("csv-expiry").ClickAsync());
        var csv = await File.ReadAllTextAsync((await download.PathAsync())!);
        var lines = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("period,ended,expired,expiry_rate,by_sla_watcher,by_operator,by_other", lines[0]);
        Assert.Equal(string.Join(',', cells), lines[1]);
        Assert.Equal(2, lines.Length);

        // A range in which nothing ended says so instead of drawing empty axes.
        await console.OpenAsync(page, "/reports?from=2001-01-01&to=2001-01-07&bucket=day");
        await Assertions.Expect(page.GetByTestId("chart-expiry").GetByTestId("chart-empty")).ToHaveTextAsync("No order ended in this range");
        await Assertions.Expect(page.GetByTestId("table-expiry-by-step")).ToContainTextAsync("No order expired in this range");
    }

    [Fact]
    public async Task The_wallboard_hub_pushes_the_flow_summary_on_connect_and_after_changes()
    {
        var summaries = System.Threading.Channels.Channel.CreateUnbounded<JsonElement>();
        await using var hub = new HubConnectionBuilder().WithUrl(console.WebUrl + "/hubs/flow", o => o.Headers["X-Api-Key"] = ConsoleFixture.ReadOnlyApiKey).Build();
        hub.On<JsonElement>("flowSummary", s => summaries.Writer.TryWrite(s));
        await hub.StartAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var first = await summaries.Reader.ReadAsync(timeout.Token);
        var before = first.GetProperty("inFlight").GetInt64();

        using var producer = console.Kafka.CreateProducer();
        await producer.PublishAsync(Placed("HUB-" + Guid.NewGuid().ToString("N")[..6], 2));

        long latest;
        do
        {
            latest = (await summaries.Reader.ReadAsync(timeout.Token)).GetProperty("inFlight").GetInt64();
        }
        while (latest < before + 2);
        Assert.True(latest >= before + 2);
    }

    [Fact]
    public async Task The_openapi_document_describes_every_json_endpoint_and_the_answers_match_it()
    {
        using var http = new HttpClient { BaseAddress = new Uri(console.WebUrl) };
        http.DefaultRequestHeaders.Add("X-Api-Key", ConsoleFixture.ReadOnlyApiKey);
        using var document = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToHashSet();
        string[] expected = ["/api/orders", "/api/orders/{orderId}", "/api/flow", "/api/lag", "/api/stuck", "/api/dead-letters", "/api/dead-letters/{id}",
            "/api/quarantine", "/api/quarantine/causes", "/api/quarantine/{id}", "/api/quarantine/dismiss", "/api/reports/expiry", "/api/reports/outreach",
            "/api/bulk-jobs", "/api/bulk-jobs/{id}", "/api/bulk-jobs/replay", "/api/bulk-jobs/purge", "/api/bulk-jobs/{id}/start", "/api/bulk-jobs/{id}/approve",
            "/api/bulk-jobs/{id}/pause", "/api/bulk-jobs/{id}/resume", "/api/bulk-jobs/{id}/cancel"];
        Assert.All(expected, p => Assert.Contains(p, paths));

        // The flow summary's answer has exactly the properties its schema names.
        var schemas = document.RootElement.GetProperty("components").GetProperty("schemas");
        var declared = schemas.GetProperty("FlowSummary").GetProperty("properties").EnumerateObject().Select(p => p.Name).Order().ToArray();
        var answer = await http.GetFromJsonAsync<JsonElement>("/api/flow");
        Assert.Equal(declared, answer.EnumerateObject().Select(p => p.Name).Order().ToArray());
        var funnel = schemas.GetProperty("OutreachFunnel").GetProperty("properties").EnumerateObject().Select(p => p.Name).Order().ToArray();
        var outreach = await http.GetFromJsonAsync<JsonElement>("/api/reports/outreach");
        Assert.Equal(funnel, outreach.EnumerateObject().Select(p => p.Name).Order().ToArray());

        // The orders endpoints describe their answers too.
        Assert.Equal("#/components/schemas/OrderResults",
            document.RootElement.GetProperty("paths").GetProperty("/api/orders").GetProperty("get").GetProperty("responses").GetProperty("200")
                .GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());

        var page = await console.NewPageAsync();
        await page.GotoAsync(console.WebUrl + "/api-reference");
        await Assertions.Expect(page.GetByText("Ops and business views").First).ToBeVisibleAsync(Visible);
        await ConsoleFixture.ScreenshotAsync(page, "api-reference");
    }

    [Fact]
    public async Task A_business_user_may_not_read_record_contents_a_support_agent_may()
    {
        using var business = new HttpClient { BaseAddress = new Uri(console.WebUrl) };
        business.DefaultRequestHeaders.Add("X-Api-Key", ConsoleFixture.ReadOnlyApiKey);
        using var support = new HttpClient { BaseAddress = new Uri(console.WebUrl) };
        support.DefaultRequestHeaders.Add("X-Api-Key", ConsoleFixture.SupportApiKey);

        foreach (var path in new[] { "/api/dead-letters/999999999", "/api/quarantine/999999999" })
        {
            Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await business.GetAsync(path)).StatusCode);
            Assert.Equal(System.Net.HttpStatusCode.NotFound, (await support.GetAsync(path)).StatusCode);
        }

        Assert.Equal(System.Net.HttpStatusCode.OK, (await business.GetAsync("/api/dead-letters")).StatusCode);
        var page = await console.NewPageAsync(user: "business");
        await console.OpenAsync(page, "/dead-letters/1");
        await Assertions.Expect(page.GetByTestId("page-error")).ToContainTextAsync("may not read record contents");
    }
}
