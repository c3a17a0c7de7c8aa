using System.Text.Json;
using Microsoft.Playwright;
using OrderFlow.Testing;

namespace OrderFlow.BrowserTests;

/// <summary>A support agent's first screen, in a real browser, fed through the real broker protocol and PostgreSQL.</summary>
public sealed class OrderListTests(ConsoleFixture console) : IClassFixture<ConsoleFixture>
{
    private static readonly LocatorAssertionsToBeVisibleOptions Visible = new() { Timeout = 30_000 };

    [Fact]
    public async Task A_newly_published_order_appears_without_reloading_the_page()
    {
        var page = await console.Browser.NewPageAsync();
        await page.GotoAsync(console.WebUrl + "/orders");
        await Assertions.Expect(page.GetByTestId("live-indicator")).ToContainTextAsync("updated", new() { Timeout = 30_000 });
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
        await Assertions.Expect(row).ToContainTextAsync("breached", new() { Timeout = 30_000 });
        await Assertions.Expect(page.GetByTestId("count-breached")).Not.ToHaveTextAsync("0", new() { Timeout = 30_000 });
        Assert.Equal(0, navigations);
    }

    [Fact]
    public async Task Hostile_text_in_an_event_is_shown_as_text_not_run_as_markup()
    {
        var page = await console.Browser.NewPageAsync();
        var dialogs = 0;
        page.Dialog += async (_, dialog) => { dialogs++; await dialog.DismissAsync(); };
        var orderId = "ORD-XSS-" + Guid.NewGuid().ToString("N")[..6];
        const string hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>";
        using var producer = console.Kafka.CreateProducer();
        await producer.PublishAsync([Events.Step(orderId, "order-placed", 0), Events.Step(orderId, "payment-authorized", 1, succeeded: false, reason: hostile)]);

        await page.GotoAsync(console.WebUrl + "/orders");
        await page.GetByTestId("order-search").Locator("input").Or(page.GetByTestId("order-search")).First.FillAsync(orderId);
        var row = page.Locator("tr", new() { Has = page.GetByText(orderId, new() { Exact = true }) });
        await Assertions.Expect(row).ToBeVisibleAsync(Visible);

        await Assertions.Expect(row).ToContainTextAsync("payment-authorized: " + hostile);
        Assert.Equal(0, await page.Locator("img[src=x]").CountAsync());
        Assert.Equal(0, dialogs);
    }

    [Fact]
    public async Task Health_reports_postgresql_and_kafka()
    {
        var page = await console.Browser.NewPageAsync();
        var response = await page.GotoAsync(console.WebUrl + "/health");

        Assert.NotNull(response);
        Assert.Equal(200, response.Status);
        using var body = JsonDocument.Parse(await response.TextAsync());
        Assert.Equal("Healthy", body.RootElement.GetProperty("status").GetString());
        Assert.Equal("Healthy", body.RootElement.GetProperty("checks").GetProperty("postgresql").GetProperty("status").GetString());
        Assert.Equal("Healthy", body.RootElement.GetProperty("checks").GetProperty("kafka").GetProperty("status").GetString());
    }
}
