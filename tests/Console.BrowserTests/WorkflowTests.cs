using System.Text;
using Confluent.Kafka;
using Microsoft.Playwright;
using OrderFlow.Testing;

namespace OrderFlow.BrowserTests;

/// <summary>A step no one told the console about, published the way kcat would, shows up on the open pages (decision 0020).</summary>
public sealed class WorkflowTests(ConsoleFixture console) : IClassFixture<ConsoleFixture>
{
    private static readonly LocatorAssertionsToBeVisibleOptions Visible = new() { Timeout = 30_000 };
    private static readonly LocatorAssertionsToContainTextOptions Contains = new() { Timeout = 30_000 };

    [Fact]
    public async Task A_new_step_appears_on_the_open_order_page_and_the_workflow_page_without_reload()
    {
        var orderId = "ORD-NEW-STEP-" + Guid.NewGuid().ToString("N")[..6];
        var step = "fraud-checked-" + Guid.NewGuid().ToString("N")[..4];
        var workflow = await console.NewPageAsync(dark: true);
        await console.OpenAsync(workflow, "/workflow");
        await Assertions.Expect(workflow.GetByTestId("workflow-definition")).ToBeVisibleAsync(Visible);
        using var producer = console.Kafka.CreateProducer();
        await producer.PublishAsync([Events.Step(orderId, "order-placed", 0)]);

        // Both pages are live (their circuits refreshed once: both also refresh every 5 s) before the new step is published.
        await Assertions.Expect(workflow.GetByTestId("live-indicator")).ToContainTextAsync("updated", Contains);
        var order = await console.NewPageAsync();
        await console.OpenAsync(order, "/orders/" + orderId);
        await Assertions.Expect(order.GetByTestId("timeline-event")).ToHaveCountAsync(1, new() { Timeout = 30_000 });
        await Assertions.Expect(order.GetByTestId("live-indicator")).ToContainTextAsync("updated", Contains);
        var navigations = 0;
        order.FrameNavigated += (_, frame) => navigations += frame == order.MainFrame ? 1 : 0;
        workflow.FrameNavigated += (_, frame) => navigations += frame == workflow.MainFrame ? 1 : 0;

        // The JSON text a service (or kcat -P -k <orderId>) would put on order-ops.
        var json = $$$"""{"schemaVersion":1,"eventId":"{{{Guid.NewGuid()}}}","orderId":"{{{orderId}}}","step":"{{{step}}}","service":"fraud-service","outcome":"succeeded","occurredAt":"2026-11-21T12:00:01Z","attributes":{"score":0.12}}""";
        await producer.ProduceAsync(KafkaBroker.OperationalTopic, new Message<string, byte[]> { Key = orderId, Value = Encoding.UTF8.GetBytes(json) });

        await Assertions.Expect(order.GetByTestId("unplanned-steps")).ToContainTextAsync(step, Contains);
        await Assertions.Expect(order.GetByTestId("timeline-event")).ToHaveCountAsync(2);
        await Assertions.Expect(order.Locator("[data-testid=event-flag][data-flag=unplanned-step]")).ToBeVisibleAsync(Visible);
        await Assertions.Expect(order.Locator("[data-step=payment-authorized]")).ToBeVisibleAsync();
        await Assertions.Expect(order.GetByTestId("workflow-version")).ToContainTextAsync("workflow version");
        var discovered = workflow.Locator($"[data-testid=discovered-step][data-step={step}]");
        await Assertions.Expect(discovered).ToHaveAttributeAsync("data-kind", "seen, not defined", new() { Timeout = 30_000 });
        await Assertions.Expect(workflow.Locator($"[data-testid=discovered-edge][data-from=order-placed][data-to={step}]")).ToHaveAttributeAsync("data-defined", "no");
        await Assertions.Expect(workflow.GetByTestId("seen-not-defined")).ToContainTextAsync(step);
        var row = workflow.Locator($"[data-testid=unplanned-step-row][data-step={step}]");
        await Assertions.Expect(row).ToBeVisibleAsync(Visible);
        await Assertions.Expect(row.Locator("td").Nth(1)).ToHaveTextAsync("1");
        await Assertions.Expect(row.Locator("td").Nth(2)).ToHaveTextAsync("1");
        Assert.Equal(0, navigations);
        await ConsoleFixture.ScreenshotAsync(order, "order-page-unplanned-step");
        await ConsoleFixture.ScreenshotAsync(workflow, "workflow-dark");
    }

    [Fact]
    public async Task A_workflow_change_reaches_the_open_workflow_page_and_a_broken_one_shows_as_refused()
    {
        var shipped = await File.ReadAllTextAsync(console.WorkflowFile);
        var page = await console.NewPageAsync();
        await console.OpenAsync(page, "/workflow");
        await Assertions.Expect(page.GetByTestId("live-indicator")).ToContainTextAsync("updated", Contains);
        var version = int.Parse(await page.GetByTestId("workflow-current-version").TextContentAsync() ?? "", System.Globalization.CultureInfo.InvariantCulture);
        var navigations = 0;
        page.FrameNavigated += (_, frame) => navigations += frame == page.MainFrame ? 1 : 0;

        try
        {
            await WriteWorkflowAsync(shipped.Replace(
                """{ "Name": "shipped", "After": [ "stock-reserved" ], "Sla": "00:01:00" }""",
                """{ "Name": "shipped", "After": [ "stock-reserved" ], "Sla": "00:01:00" }, { "Name": "fraud-checked", "After": [ "order-placed" ], "Sla": "00:00:10" }""",
                StringComparison.Ordinal));

            await Assertions.Expect(page.GetByTestId("workflow-current-version")).ToHaveTextAsync((version + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), new() { Timeout = 30_000 });
            await Assertions.Expect(page.Locator($"[data-testid=workflow-version-row][data-version='{version + 1}']")).ToContainTextAsync("added step fraud-checked (after order-placed, SLA 00:00:10)");
            await Assertions.Expect(page.Locator("[data-testid=expected-graph] [data-testid=graph-step][data-step=fraud-checked]")).ToBeVisibleAsync();

            await WriteWorkflowAsync("""{ "Workflow": { "Steps": [ """);
            await Assertions.Expect(page.GetByTestId("workflow-refused")).ToContainTextAsync("is not valid JSON", Contains);
            await Assertions.Expect(page.GetByTestId("workflow-current-version")).ToHaveTextAsync((version + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(0, navigations);
            await ConsoleFixture.ScreenshotAsync(page, "workflow-refused");
        }
        finally
        {
            await WriteWorkflowAsync(shipped);
        }

        await Assertions.Expect(page.GetByTestId("workflow-refused")).ToHaveCountAsync(0, new() { Timeout = 30_000 });
    }

    [Fact]
    public async Task The_discovered_flow_counts_transitions_and_variants_and_marks_a_path_the_definition_does_not_allow()
    {
        // 30 orders: every third reserves stock before payment (the same variant), ORD-…-SHIP-FIRST ships before stock.
        var run = Guid.NewGuid().ToString("N")[..6];
        var start = DateTimeOffset.UtcNow.AddMinutes(-5);
        var events = new List<OrderFlow.Domain.Events.OperationalEvent>();
        for (var i = 0; i < 30; i++)
        {
            var id = $"ORD-DISCOVERED-{run}-{i:D2}";
            var t = start.AddSeconds(i);
            var (payment, stock) = i % 3 == 0 ? (1.5, 0.5) : (0.5, 1.5);
            events.AddRange([
                Events.StepAt(id, "order-placed", t), Events.StepAt(id, "payment-authorized", t.AddSeconds(payment)),
                Events.StepAt(id, "stock-reserved", t.AddSeconds(stock)), Events.StepAt(id, "shipped", t.AddSeconds(3)),
                Events.StepAt(id, "order-completed", t.AddSeconds(4))]);
        }

        var shipFirst = $"ORD-DISCOVERED-{run}-SHIP-FIRST-{new string('x', 40)}";
        events.AddRange([Events.StepAt(shipFirst, "order-placed", start), Events.StepAt(shipFirst, "payment-authorized", start.AddSeconds(1)), Events.StepAt(shipFirst, "shipped", start.AddSeconds(2))]);
        using var producer = console.Kafka.CreateProducer();
        await producer.PublishAsync(events);

        var page = await console.NewPageAsync();
        await console.OpenAsync(page, "/workflow?range=15");
        var placedToStock = page.Locator("[data-testid=flow-transition][data-from=order-placed][data-to=stock-reserved] td").Nth(2);
        await Assertions.Expect(placedToStock).ToHaveTextAsync("30", new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("[data-testid=flow-transition][data-from=stock-reserved][data-to=shipped] td").Nth(3)).ToHaveTextAsync("1.5 s");
        await Assertions.Expect(page.Locator("[data-testid=discovered-edge][data-from=payment-authorized][data-to=shipped]")).ToHaveAttributeAsync("data-defined", "no");
        await Assertions.Expect(page.GetByTestId("off-path")).ToContainTextAsync("1");
        await Assertions.Expect(page.GetByTestId("flow-variant").First).ToContainTextAsync("order-placed → payment-authorized → stock-reserved → shipped → order-completed");
        // Console.Web shows the versions Console.Ingest stored (not its own configured stand-in): version 1 has its time.
        await Assertions.Expect(page.Locator("[data-testid=workflow-version-row][data-version='1']")).Not.ToContainTextAsync("not stored yet");
        await ConsoleFixture.ScreenshotAsync(page, "workflow");
        var dark = await console.NewPageAsync(dark: true);
        await console.OpenAsync(dark, "/workflow?range=15");
        await Assertions.Expect(dark.GetByTestId("discovered-graph")).ToBeVisibleAsync(Visible);
        await ConsoleFixture.ScreenshotAsync(dark, "workflow-discovered-dark");
    }

    /// <summary>Replaces the workflow file in one step, as an editor saving it does.</summary>
    private async Task WriteWorkflowAsync(string text)
    {
        var next = console.WorkflowFile + ".next";
        await File.WriteAllTextAsync(next, text);
        File.Move(next, console.WorkflowFile, overwrite: true);
    }
}
