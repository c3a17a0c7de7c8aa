using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Playwright;
using OrderFlow.Domain.Events;
using OrderFlow.Testing;

namespace OrderFlow.BrowserTests;

/// <summary>A support agent's console in a real browser, fed through the real broker protocol, Console.Ingest and PostgreSQL.</summary>
public sealed class SupportConsoleTests(ConsoleFixture console) : IClassFixture<ConsoleFixture>
{
    private static readonly LocatorAssertionsToBeVisibleOptions Visible = new() { Timeout = 30_000 };
    private static readonly LocatorAssertionsToContainTextOptions Contains = new() { Timeout = 30_000 };

    [Fact]
    public async Task A_newly_published_order_appears_in_the_list_without_reloading_the_page()
    {
        var page = await console.NewPageAsync();
        await console.OpenAsync(page, "/orders");
        await Assertions.Expect(page.GetByTestId("live-indicator")).ToContainTextAsync("updated", Contains);
        var orderId = "ORD-LIVE-" + Guid.NewGuid().ToString("N")[..6];
        var navigations = 0;
        page.FrameNavigated += (_, frame) => navigations += frame == page.MainFrame ? 1 : 0;

        using var producer = console.Kafka.CreateProducer();
        await producer.PublishAsync([Events.Step(orderId, "order-placed", 0), Events.Step(orderId, "stock-reserved", 1)]);

        var row = page.Locator("tr", new() { Has = page.GetByText(orderId, new() { Exact = true }) });
        await Assertions.Expect(row).ToBeVisibleAsync(Visible);
        await Assertions.Expect(row).ToContainTextAsync("in-progress");
        await Assertions.Expect(row).ToContainTextAsync("payment-authorized + shipped");
        // Its events happened long ago (fixed test time): the SLA watcher declares the breach, and the row says so live.
        await Assertions.Expect(row).ToContainTextAsync("breached", Contains);
        Assert.Equal(0, navigations);
        await ConsoleFixture.ScreenshotAsync(page, "orders-live");
    }

    [Fact]
    public async Task Search_from_the_url_then_open_the_order_by_keyboard_shows_its_graph_and_timeline()
    {
        var prefix = "ACC-34603d51-s7f2-" + Guid.NewGuid().ToString("N")[..8];
        var orderId = prefix + "-customer-reorder-with-a-long-identifier-1";
        using var producer = console.Kafka.CreateProducer();
        await producer.PublishAsync([
            Events.Step(prefix + "-customer-reorder-with-a-long-identifier-2", "order-placed", 0),
            Events.Step(orderId, "order-placed", 0), Events.Step(orderId, "payment-authorized", 1, succeeded: false, reason: "card declined"),
            Events.Step(orderId, "stock-reserved", 2)]);

        var page = await console.NewPageAsync();
        await console.OpenAsync(page, "/orders?search=" + Uri.EscapeDataString(prefix));
        await Assertions.Expect(page.GetByTestId("order-search")).ToHaveValueAsync(prefix);
        await Assertions.Expect(page.GetByTestId("order-row")).ToHaveCountAsync(2, new() { Timeout = 30_000 });
        await Assertions.Expect(page.GetByTestId("match-count")).ToHaveTextAsync("2 orders match");
        // Long ids are shown whole.
        await Assertions.Expect(page.GetByText(orderId, new() { Exact = true })).ToBeVisibleAsync();
        await ConsoleFixture.ScreenshotAsync(page, "orders-search-long-ids");

        // An id search lists by id: "-1" (orderId), then "-2".
        var second = prefix + "-customer-reorder-with-a-long-identifier-2";
        await page.GetByTestId("orders-results").FocusAsync();
        await page.Keyboard.PressAsync("ArrowDown");
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("selected=" + System.Text.RegularExpressions.Regex.Escape(orderId) + "$"));
        await page.Keyboard.PressAsync("ArrowDown");
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("selected=" + System.Text.RegularExpressions.Regex.Escape(second) + "$"));
        await page.Keyboard.PressAsync("ArrowUp");
        await Assertions.Expect(page.Locator("[data-testid=order-row][data-selected=true]")).ToHaveTextAsync(orderId);
        await page.Keyboard.PressAsync("Enter");

        await Assertions.Expect(page).ToHaveURLAsync(console.WebUrl + "/orders/" + Uri.EscapeDataString(orderId));
        await Assertions.Expect(page.GetByTestId("order-title")).ToHaveTextAsync(orderId);
        await ExpectFailedOrderAsync(page);

        await ConsoleFixture.ScreenshotAsync(page, "order-page");
    }

    [Fact]
    public async Task An_event_published_for_an_open_order_page_changes_it_without_reload()
    {
        var orderId = "ORD-OPEN-" + Guid.NewGuid().ToString("N")[..6];
        using var producer = console.Kafka.CreateProducer();
        await producer.PublishAsync([Events.Step(orderId, "order-placed", 0)]);
        var page = await console.NewPageAsync(dark: true);
        await console.OpenAsync(page, "/orders/" + orderId);
        await Assertions.Expect(page.Locator("[data-step=stock-reserved]")).ToHaveAttributeAsync("data-state", "breached", new() { Timeout = 30_000 });
        await Assertions.Expect(page.GetByTestId("timeline-event")).ToHaveCountAsync(1);
        await Assertions.Expect(page.GetByTestId("live-indicator")).ToContainTextAsync("updated", Contains);
        var navigations = 0;
        page.FrameNavigated += (_, frame) => navigations += frame == page.MainFrame ? 1 : 0;

        await producer.PublishAsync([Events.Step(orderId, "stock-reserved", 1), Events.Step(orderId, "stock-reserved", 2)]);

        await Assertions.Expect(page.Locator("[data-step=stock-reserved]")).ToHaveAttributeAsync("data-state", "done", new() { Timeout = 30_000 });
        await Assertions.Expect(page.GetByTestId("timeline-event")).ToHaveCountAsync(3, new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("[data-testid=event-flag][data-flag=repeated]")).ToBeVisibleAsync(Visible);
        await Assertions.Expect(page.GetByTestId("flag-explanation")).ToContainTextAsync("already succeeded");
        Assert.Equal(0, navigations);
        await ConsoleFixture.ScreenshotAsync(page, "order-page-live-dark");
    }

    /// <summary>
    /// The graph's "order is here" border pulses three times and then holds; on the dashboard it holds from the start. An
    /// SVG stroke is not animated by the browser's compositor: a pulse repaints the graph every frame, and a never-ending
    /// one kept ~0.4 of a core busy for as long as an order page was open (docs/benchmarks.md).
    /// </summary>
    [Fact]
    public async Task The_order_s_position_pulses_three_times_then_holds_and_the_dashboard_does_not_pulse()
    {
        var orderId = "ORD-PULSE-" + Guid.NewGuid().ToString("N")[..6];
        using var producer = console.Kafka.CreateProducer();
        await producer.PublishAsync([Events.StepAt(orderId, "order-placed", DateTimeOffset.UtcNow)]);
        const string GraphAnimations =
            "() => document.getAnimations().filter(a => a.effect?.target?.closest?.('[data-testid=workflow-graph]')).length";

        var page = await console.NewPageAsync(user: "lead");
        await console.OpenAsync(page, "/orders/" + orderId);
        var position = page.Locator("[data-testid=graph-step].step-position rect").First;
        await Assertions.Expect(position).ToBeVisibleAsync(Visible);
        Assert.Equal("position 3", await position.EvaluateAsync<string>("r => getComputedStyle(r).animationName + ' ' + getComputedStyle(r).animationIterationCount"));
        await page.WaitForFunctionAsync(GraphAnimations + " === 0", null, new() { Timeout = 30_000 });

        await console.OpenAsync(page, "/flow");
        var waiting = page.Locator("[data-testid=graph-step].step-position rect").First;
        await Assertions.Expect(waiting).ToBeVisibleAsync(Visible);
        Assert.Equal("none", await waiting.EvaluateAsync<string>("r => getComputedStyle(r).animationName"));
        Assert.Equal(0, await page.EvaluateAsync<int>(GraphAnimations));
    }

    [Fact]
    public async Task A_dead_letter_appears_grouped_by_cause_names_itself_as_the_cause_and_links_both_ways()
    {
        var orderId = "ORD-DLQ-" + Guid.NewGuid().ToString("N")[..6];
        using var producer = console.Kafka.CreateProducer();
        await producer.PublishAsync([Events.Step(orderId, "order-placed", 0)]);
        var reason = $"provider timeout after {Random.Shared.Next(1000, 9999)} ms for {orderId} <script>alert(1)</script>";
        await producer.ProduceAsync("payments-dlq", new Message<string, byte[]>
        {
            Key = orderId,
            Value = Encoding.UTF8.GetBytes($$"""{"orderId":"{{orderId}}","amount":12.5,"note":"<img src=x onerror=alert(2)>"}"""),
            Headers = [new Confluent.Kafka.Header("dlq-error-reason", Encoding.UTF8.GetBytes(reason)), new Confluent.Kafka.Header("dlq-service", "payment-service"u8.ToArray()), new Confluent.Kafka.Header("dlq-original-topic", "order-ops"u8.ToArray())],
        });
        var dialogs = 0;
        var page = await console.NewPageAsync();
        page.Dialog += async (_, dialog) => { dialogs++; await dialog.DismissAsync(); };

        await console.OpenAsync(page, "/dead-letters");
        var group = page.Locator("[data-testid=dead-letter-group]", new() { HasText = "provider timeout after <n> ms for ORD-DLQ-" });
        await Assertions.Expect(group).ToBeVisibleAsync(Visible);
        await ConsoleFixture.ScreenshotAsync(page, "dead-letters");
        await group.ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("cause="));
        await page.GetByTestId("dead-letter-records").GetByText(orderId, new() { Exact = true }).WaitForAsync();
        await page.GetByTestId("dead-letter-link").First.ClickAsync();

        await Assertions.Expect(page.GetByTestId("dead-letter-reason")).ToContainTextAsync(reason);
        await Assertions.Expect(page.Locator("[data-label=Value] [data-testid=record-bytes-content]")).ToHaveAttributeAsync("data-mode", "json");
        await Assertions.Expect(page.Locator("[data-label=Value] [data-testid=record-bytes-content]")).ToContainTextAsync("\"note\": \"<img src=x onerror=alert(2)>\"");
        await Assertions.Expect(page.GetByTestId("record-headers")).ToContainTextAsync("dlq-service");
        Assert.Equal(0, await page.Locator("img[src=x]").CountAsync());
        await ConsoleFixture.ScreenshotAsync(page, "dead-letter-record");

        await page.GetByTestId("dead-letter-order").ClickAsync();
        await Assertions.Expect(page.GetByTestId("stopped-by")).ToContainTextAsync("dead letter on payments-dlq");
        await Assertions.Expect(page.GetByTestId("order-dead-letter-link")).ToBeVisibleAsync();

        var api = JsonDocument.Parse(await (await page.APIRequest.GetAsync(console.WebUrl + "/api/orders/" + orderId)).TextAsync());
        Assert.Equal("payments-dlq", api.RootElement.GetProperty("order").GetProperty("deadLetter").GetProperty("topic").GetString());
        Assert.StartsWith("dead letter on payments-dlq", api.RootElement.GetProperty("order").GetProperty("stoppedBy").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, dialogs);
    }

    [Fact]
    public async Task A_quarantined_record_appears_with_its_reason_and_bytes_and_counts_in_the_navigation()
    {
        var key = "ORD-QUAR-" + Guid.NewGuid().ToString("N")[..6];
        using var producer = console.Kafka.CreateProducer();
        await producer.ProduceAsync(KafkaBroker.OperationalTopic, new Message<string, byte[]> { Key = key, Value = [0x7b, 0x22, 0xff, 0x00, 0x3c, 0x62, 0x3e] });

        var page = await console.NewPageAsync();
        await console.OpenAsync(page, "/quarantine");
        var row = page.Locator("tr", new() { Has = page.GetByText(key, new() { Exact = true }) });
        await Assertions.Expect(row).ToBeVisibleAsync(Visible);
        await Assertions.Expect(row).ToContainTextAsync("not valid UTF-8");
        await Assertions.Expect(page.GetByTestId("nav-quarantine-count")).Not.ToHaveTextAsync("0", new() { Timeout = 30_000 });
        await ConsoleFixture.ScreenshotAsync(page, "quarantine");

        await row.ClickAsync();
        await Assertions.Expect(page.Locator("[data-label=Value] [data-testid=record-bytes-content]")).ToHaveAttributeAsync("data-mode", "hex");
        await Assertions.Expect(page.Locator("[data-label=Value] [data-testid=record-bytes-content]")).ToContainTextAsync("7b 22 ff 00 3c 62 3e");
    }

    [Fact]
    public async Task Quarantined_records_group_by_cause_and_a_cause_pages_through_its_records()
    {
        // 101 more records that are not UTF-8 than the fixture holds now (other tests add some too): more than a page.
        const string cause = "payload is not valid UTF-<n>";
        var before = await CountAsync("/api/quarantine/causes", causes => causes.EnumerateArray().Where(c => c.GetProperty("cause").GetString() == cause).Sum(c => c.GetProperty("count").GetInt64()));
        using var producer = console.Kafka.CreateProducer();
        for (var i = 0; i < 101; i++)
        {
            producer.Produce(KafkaBroker.OperationalTopic, new Message<string, byte[]> { Key = $"ORD-QPAGE-{i:D3}", Value = [0xc3, 0x28, (byte)i] });
        }

        producer.Flush(TimeSpan.FromSeconds(30));

        var page = await console.NewPageAsync();
        await console.OpenAsync(page, "/quarantine");
        var group = page.Locator($"[data-testid=quarantine-cause][data-cause='{cause}']");
        await Assertions.Expect(group).ToBeVisibleAsync(Visible);
        var count = page.Locator("tr", new() { Has = group }).GetByTestId("quarantine-cause-count");
        await AtLeastAsync(page, "[data-testid=quarantine-cause][data-cause='payload is not valid UTF-<n>'] ~ [data-testid=quarantine-cause-count]", before + 101);

        // The cause is a link (keyboard: Tab to it, Enter): the records below are that cause's, newest first, 100 a page.
        await group.GetByRole(AriaRole.Link).FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("cause=payload%20is%20not%20valid%20UTF-%3Cn%3E"));
        await Assertions.Expect(page.GetByTestId("quarantine-shown")).ToContainTextAsync("the newest 100 of", Contains);
        var rows = page.GetByTestId("quarantine-records").Locator("tbody tr");
        await Assertions.Expect(rows).ToHaveCountAsync(100);
        var reasons = page.GetByTestId("quarantine-reason");
        await Assertions.Expect(reasons.Filter(new() { HasNotText = "payload is not valid UTF-8" })).ToHaveCountAsync(0);

        await page.GetByTestId("quarantine-more").ClickAsync();
        await AtLeastCountAsync(page, "[data-testid=quarantine-records] tbody tr", Math.Min(before + 101, 200));
        await Assertions.Expect(reasons.Filter(new() { HasNotText = "payload is not valid UTF-8" })).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByTestId("quarantine-records").GetByText("ORD-QPAGE-000", new() { Exact = true })).ToBeVisibleAsync(Visible);
        await ConsoleFixture.ScreenshotAsync(page, "quarantine-cause");

        await page.GetByTestId("quarantine-all-causes").ClickAsync();
        await Assertions.Expect(page).Not.ToHaveURLAsync(new System.Text.RegularExpressions.Regex("cause="));
        await Assertions.Expect(page.GetByTestId("quarantine-shown")).ToContainTextAsync("newest 100 of", Contains);
        await Assertions.Expect(count).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Dismissing_a_cause_takes_its_records_off_the_counts_and_keeps_them_listed_on_request()
    {
        const string cause = "unknown schemaVersion <n> (this console reads <n>)";
        using var producer = console.Kafka.CreateProducer();
        foreach (var version in new[] { 77, 78, 79 })
        {
            var json = Encoding.UTF8.GetString(OperationalEventCodec.Serialize(Events.Step($"ORD-QDISMISS-{version}", "order-placed", 0)))
                .Replace($"\"schemaVersion\":{OperationalEvent.CurrentSchemaVersion}", $"\"schemaVersion\":{version}", StringComparison.Ordinal);
            await producer.ProduceAsync(KafkaBroker.OperationalTopic, new Message<string, byte[]> { Key = $"ORD-QDISMISS-{version}", Value = Encoding.UTF8.GetBytes(json) });
        }

        // All three stored (they may sit on different partitions) before any count is read.
        await Eventually.UntilAsync(
            () => CountAsync("/api/quarantine?cause=" + Uri.EscapeDataString(cause), records => records.EnumerateArray().Count(r => r.GetProperty("keyText").GetString() is { } key && key.StartsWith("ORD-QDISMISS-", StringComparison.Ordinal))),
            n => n == 3, TimeSpan.FromSeconds(30), "the three records quarantined");
        var page = await console.NewPageAsync();
        await console.OpenAsync(page, "/quarantine?cause=" + Uri.EscapeDataString(cause));
        await Assertions.Expect(page.GetByTestId("quarantine-records").GetByText("ORD-QDISMISS-79", new() { Exact = true })).ToBeVisibleAsync(Visible);
        // The navigation counts every open record (read through the API: the badge refreshes on its own pace).
        var navCount = page.GetByTestId("nav-quarantine-count");
        var before = await CountAsync("/api/quarantine/causes", causes => causes.EnumerateArray().Sum(c => c.GetProperty("open").GetInt64()));
        await AtLeastAsync(page, "[data-testid=nav-quarantine-count]", before);

        // A reason first; the button names how many open records it dismisses.
        var button = page.GetByTestId("quarantine-dismiss-button");
        await Assertions.Expect(button).ToBeDisabledAsync();
        await page.Locator("input[data-testid=quarantine-dismiss-reason], [data-testid=quarantine-dismiss-reason] input").First.FillAsync("producer fixed in v1.4");
        await Assertions.Expect(button).ToBeEnabledAsync();
        var open = long.Parse(new string((await button.TextContentAsync())!.Where(char.IsDigit).ToArray()), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(open >= 3, $"{open} open");
        await button.ClickAsync();

        await Assertions.Expect(page.GetByTestId("action-outcome")).ToHaveTextAsync($"dismissed {open:N0} quarantined records");
        await Assertions.Expect(page.GetByTestId("quarantine-dismiss-none")).ToBeVisibleAsync(Visible);
        await Assertions.Expect(page.GetByText("ORD-QDISMISS-79", new() { Exact = true })).ToHaveCountAsync(0);
        await Assertions.Expect(navCount).ToHaveTextAsync((before - open).ToString(System.Globalization.CultureInfo.InvariantCulture), new() { Timeout = 30_000 });
        Assert.Equal(0, await CountAsync("/api/quarantine/causes", causes => causes.EnumerateArray().Where(c => c.GetProperty("cause").GetString() == cause).Sum(c => c.GetProperty("open").GetInt64())));

        // Kept: listed again with "include dismissed", each marked.
        await page.Locator("input[data-testid=quarantine-include-dismissed], [data-testid=quarantine-include-dismissed] input").First.CheckAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("includeDismissed=true"));
        var row = page.GetByTestId("quarantine-records").Locator("tbody tr", new() { HasText = "ORD-QDISMISS-79" });
        await Assertions.Expect(row.GetByTestId("quarantine-dismissed")).ToBeVisibleAsync(Visible);
        await ConsoleFixture.ScreenshotAsync(page, "quarantine-dismissed");

        // The audit trail says who dismissed what, why, and how many.
        await console.OpenAsync(page, "/audit");
        var audit = page.Locator("tbody tr", new() { HasText = "DismissQuarantined" }).Filter(new() { HasText = "producer fixed in v1.4" });
        await Assertions.Expect(audit.GetByTestId("audit-result")).ToHaveTextAsync($"dismissed {open:N0} quarantined records");
        await Assertions.Expect(audit).ToContainTextAsync($"quarantine-cause:{cause}");
    }

    /// <summary>A figure read from the JSON API with the read-only key.</summary>
    private async Task<long> CountAsync(string path, Func<JsonElement, long> read)
    {
        using var http = new HttpClient { BaseAddress = new Uri(console.WebUrl) };
        http.DefaultRequestHeaders.Add("X-Api-Key", ConsoleFixture.ReadOnlyApiKey);
        using var document = JsonDocument.Parse(await http.GetStringAsync(path));
        return read(document.RootElement);
    }

    /// <summary>Waits until the number shown by the first element matching <paramref name="selector"/> reaches <paramref name="least"/>.</summary>
    private static Task AtLeastAsync(IPage page, string selector, long least) =>
        page.WaitForFunctionAsync(
            "([selector, least]) => parseInt((document.querySelector(selector)?.textContent ?? '').replace(/[^0-9]/g, ''), 10) >= least",
            new object[] { selector, least }, new() { Timeout = 30_000 });

    /// <summary>Waits until at least <paramref name="least"/> elements match <paramref name="selector"/>.</summary>
    private static Task AtLeastCountAsync(IPage page, string selector, long least) =>
        page.WaitForFunctionAsync("([selector, least]) => document.querySelectorAll(selector).length >= least",
            new object[] { selector, least }, new() { Timeout = 30_000 });

    [Fact]
    public async Task Stuck_orders_show_every_group_at_a_glance_and_a_group_lists_its_first_twenty_until_asked()
    {
        // 25 orders placed long ago with nothing after: each waits for payment and stock, past its deadline. Other tests'
        // orders may wait there too: the group holds at least as many as before plus these.
        const string waitingFor = "payment-authorized + stock-reserved";
        var before = await CountAsync("/api/stuck", groups => groups.EnumerateArray().Where(g => g.GetProperty("waitingFor").GetString() == waitingFor).Sum(g => g.GetProperty("count").GetInt64()));
        var prefix = "ORD-STUCK-" + Guid.NewGuid().ToString("N")[..6];
        using var producer = console.Kafka.CreateProducer();
        await producer.PublishAsync(Enumerable.Range(0, 25).Select(i => Events.Step($"{prefix}-{i:D2}", "order-placed", 0)));

        var page = await console.NewPageAsync();
        await console.OpenAsync(page, "/stuck");
        var group = page.Locator($"[data-testid=stuck-group][data-waiting-for='{waitingFor}']");
        await Assertions.Expect(group).ToBeVisibleAsync(Visible);
        await AtLeastAsync(page, $"[data-testid=stuck-group][data-waiting-for='{waitingFor}'] [data-testid=stuck-group-count]", before + 25);
        var rows = group.GetByTestId("stuck-row");
        await Assertions.Expect(rows).ToHaveCountAsync(20);
        await Assertions.Expect(group.GetByTestId("stuck-group-shown")).ToContainTextAsync("showing 20 of", Contains);

        // Every group is named once at the top; this one's entry leads to its table, by an id made of what it waits for.
        var entry = page.GetByTestId("stuck-overview-item").Filter(new() { HasText = waitingFor });
        await Assertions.Expect(entry).ToHaveCountAsync(1);
        await Assertions.Expect(page.GetByTestId("stuck-overview-item")).ToHaveCountAsync(await page.GetByTestId("stuck-group").CountAsync());
        await entry.ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/stuck#waiting-payment-authorized_stock-reserved$"));
        await Assertions.Expect(group).ToHaveAttributeAsync("id", "waiting-payment-authorized_stock-reserved");
        await Assertions.Expect(group).ToBeInViewportAsync();

        await group.GetByTestId("stuck-group-toggle").ClickAsync();
        await AtLeastCountAsync(page, $"[data-testid=stuck-group][data-waiting-for='{waitingFor}'] [data-testid=stuck-row]", Math.Min(before + 25, 200));
        await Assertions.Expect(group.GetByText($"{prefix}-24", new() { Exact = true })).ToBeVisibleAsync(Visible);
        await ConsoleFixture.ScreenshotAsync(page, "stuck-groups");
        await group.GetByTestId("stuck-group-toggle").ClickAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(20);

        // A phone-wide window: each row a labelled block, nothing to scroll sideways, the failure readable.
        await page.SetViewportSizeAsync(420, 900);
        await Assertions.Expect(group.Locator("thead")).ToBeHiddenAsync();
        // Whatever other tests left stuck (long ids, long reasons): the elements wider than the window or their table, if any
        // — once the layout has settled after the resize (the navigation drawer closes on a narrow window).
        const string Overflowing = """
            () => [...document.querySelectorAll('.mud-main-content *')]
                .filter(e => e.getBoundingClientRect().right > 421 || (e.matches('.stuck-table .mud-table-container') && e.scrollWidth > e.clientWidth + 1))
                .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right) + ': ' + (e.textContent ?? '').slice(0, 60)).join(' | ')
            """;
        try
        {
            await page.WaitForFunctionAsync($"() => ({Overflowing})() === ''", null, new() { Timeout = 15_000 });
        }
        catch (TimeoutException)
        {
            // Named below.
        }

        Assert.Equal("", await page.EvaluateAsync<string>(Overflowing));
        Assert.Equal("Stopped by", await rows.First.Locator("td.stopped-by").EvaluateAsync<string>("td => getComputedStyle(td, '::before').content.replaceAll('\"', '')"));
    }

    [Fact]
    public async Task The_go_to_order_box_opens_an_order_by_id()
    {
        var orderId = "ORD-GOTO-" + Guid.NewGuid().ToString("N")[..6];
        using var producer = console.Kafka.CreateProducer();
        await producer.PublishAsync([Events.Step(orderId, "order-placed", 0)]);

        var page = await console.NewPageAsync();
        await console.OpenAsync(page, "/stuck");
        await Assertions.Expect(page.GetByTestId("live-indicator")).ToContainTextAsync("updated", Contains);
        // "/" from anywhere on the page (not typing in a field) puts the cursor in the box.
        await page.EvaluateAsync("document.activeElement?.blur()");
        await page.Keyboard.PressAsync("/");
        var box = page.GetByTestId("go-to-order");
        await Assertions.Expect(box).ToBeFocusedAsync();
        await Assertions.Expect(box).ToHaveValueAsync("");
        await page.Keyboard.TypeAsync(orderId);
        await page.Keyboard.PressAsync("Enter");

        await Assertions.Expect(page).ToHaveURLAsync(console.WebUrl + "/orders/" + orderId);
        await Assertions.Expect(page.GetByTestId("graph-step").First).ToBeVisibleAsync(Visible);
        await Assertions.Expect(box).ToHaveValueAsync("");
    }

    [Fact]
    public async Task The_layout_marks_the_open_page_navigates_in_the_same_circuit_and_switches_theme_and_time_zone()
    {
        var page = await console.NewPageAsync();
        await console.OpenAsync(page, "/orders?status=in-flight");
        var orders = page.Locator("nav a[href='/orders']");
        var stuck = page.Locator("nav a[href='/stuck']");
        await Assertions.Expect(orders).ToHaveAttributeAsync("aria-current", "page");

        // The tab shows the console's icon, served without signing in (the sign-in page's tab has it too).
        var icon = await page.Locator("link[rel=icon]").GetAttributeAsync("href");
        using (var anonymous = new HttpClient())
        {
            using var served = await anonymous.GetAsync(new Uri(new Uri(console.WebUrl + "/"), icon));
            Assert.Equal(System.Net.HttpStatusCode.OK, served.StatusCode);
            Assert.Equal("image/svg+xml", served.Content.Headers.ContentType?.MediaType);
        }

        await Assertions.Expect(stuck).Not.ToHaveAttributeAsync("aria-current", "page");

        // A marker in the window survives only a navigation inside the circuit (a full page load would drop it).
        await page.EvaluateAsync("window.__sameDocument = true");
        await stuck.ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(console.WebUrl + "/stuck");
        await Assertions.Expect(stuck).ToHaveAttributeAsync("aria-current", "page");
        await Assertions.Expect(orders).Not.ToHaveAttributeAsync("aria-current", "page");
        Assert.True(await page.EvaluateAsync<bool>("window.__sameDocument === true"));

        var background = () => page.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor");
        var light = await background();
        await page.GetByTestId("theme-toggle").ClickAsync();
        await Assertions.Expect(page.GetByTestId("theme-toggle")).ToHaveAttributeAsync("title", "Light theme");
        Assert.NotEqual(light, await background());
        Assert.Contains(await page.Context.CookiesAsync([console.WebUrl]), c => c is { Name: "console-theme", Value: "dark" });

        var zone = page.GetByTestId("time-zone-toggle");
        await Assertions.Expect(zone).ToHaveTextAsync("UTC");
        await zone.ClickAsync();
        await Assertions.Expect(zone).ToHaveTextAsync("Local");
        Assert.Contains(await page.Context.CookiesAsync([console.WebUrl]), c => c is { Name: "console-times", Value: "local" });

        // Both choices are remembered: a new load paints dark with local times from the first response.
        await console.OpenAsync(page, "/orders");
        await Assertions.Expect(zone).ToHaveTextAsync("Local");
        Assert.NotEqual(light, await background());
    }

    [Fact]
    public async Task Hostile_text_in_an_event_is_shown_as_text_not_run_as_markup()
    {
        var orderId = "ORD-XSS-" + Guid.NewGuid().ToString("N")[..6];
        const string hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>";
        using var producer = console.Kafka.CreateProducer();
        await producer.PublishAsync([Events.Step(orderId, "order-placed", 0), Events.Step(orderId, "payment-authorized", 1, succeeded: false, reason: hostile)]);
        var page = await console.NewPageAsync();
        var dialogs = 0;
        page.Dialog += async (_, dialog) => { dialogs++; await dialog.DismissAsync(); };

        await console.OpenAsync(page, "/orders?search=" + orderId);
        var row = page.Locator("tr", new() { Has = page.GetByText(orderId, new() { Exact = true }) });
        await Assertions.Expect(row).ToContainTextAsync("payment-authorized: " + hostile, Contains);
        await console.OpenAsync(page, "/orders/" + orderId);
        await Assertions.Expect(page.GetByTestId("stopped-by")).ToContainTextAsync(hostile, Contains);

        Assert.Equal(0, await page.Locator("img[src=x]").CountAsync());
        Assert.Equal(0, dialogs);
    }

    [Fact]
    public async Task Health_reports_postgresql_and_kafka()
    {
        var page = await console.NewPageAsync();
        var response = await page.GotoAsync(console.WebUrl + "/health");

        Assert.NotNull(response);
        Assert.Equal(200, response.Status);
        using var body = JsonDocument.Parse(await response.TextAsync());
        Assert.Equal("Healthy", body.RootElement.GetProperty("status").GetString());
        Assert.Equal("Healthy", body.RootElement.GetProperty("checks").GetProperty("postgresql").GetProperty("status").GetString());
        Assert.Equal("Healthy", body.RootElement.GetProperty("checks").GetProperty("kafka").GetProperty("status").GetString());
    }

    private static async Task ExpectFailedOrderAsync(IPage page)
    {
        await Assertions.Expect(page.Locator("[data-step=payment-authorized]")).ToHaveAttributeAsync("data-state", "failed", new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("[data-step=stock-reserved]")).ToHaveAttributeAsync("data-state", "done");
        await Assertions.Expect(page.Locator("[data-step=order-placed]")).ToHaveAttributeAsync("data-state", "done");
        await Assertions.Expect(page.GetByTestId("timeline-event")).ToHaveCountAsync(3);
        await Assertions.Expect(page.GetByTestId("stopped-by")).ToContainTextAsync("card declined");
    }
}
