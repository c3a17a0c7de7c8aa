using System.Text;
using Confluent.Kafka;
using Microsoft.Playwright;
using OrderFlow.Testing;

namespace OrderFlow.BrowserTests;

/// <summary>Bulk triage in a real browser: an OpsLead picks a cause group, sees the dry run, starts it and watches it finish.</summary>
public sealed class BulkTriageTests(ConsoleFixture console) : IClassFixture<ConsoleFixture>
{
    private static readonly LocatorAssertionsToBeVisibleOptions Visible = new() { Timeout = 30_000 };
    private static readonly LocatorAssertionsToContainTextOptions Contains = new() { Timeout = 60_000 };

    [Fact]
    public async Task An_ops_lead_bulk_replays_a_cause_group_from_its_dry_run_and_sees_per_record_results()
    {
        var lead = await console.NewPageAsync(user: "lead");
        await console.OpenAsync(lead, "/bulk");
        await Assertions.Expect(lead.GetByTestId("bulk-empty")).ToBeVisibleAsync(Visible);
        await ConsoleFixture.ScreenshotAsync(lead, "bulk-empty");
        var dark = await console.NewPageAsync(dark: true, user: "lead");
        await console.OpenAsync(dark, "/bulk");
        await Assertions.Expect(dark.GetByTestId("bulk-empty")).ToBeVisibleAsync(Visible);
        await ConsoleFixture.ScreenshotAsync(dark, "bulk-empty-dark");

        // One cause, two topics: 24 records the payment service can take again, 2 from stock-dlq which has no retry topic.
        const string cause = "gateway refused the card token";
        var firstOrder = "";
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = console.Kafka.BootstrapServers }).Build())
        {
            for (var i = 0; i < 26; i++)
            {
                var orderId = $"ORD-BULK-{i:D2}-{Guid.NewGuid():N}";
                firstOrder = i == 0 ? orderId : firstOrder;
                await producer.ProduceAsync(i < 24 ? "payments-dlq" : "stock-dlq", new Message<string, byte[]>
                {
                    Key = orderId,
                    Value = Encoding.UTF8.GetBytes($$"""{"orderId":"{{orderId}}","step":"payment-authorized"}"""),
                    Headers = [new Confluent.Kafka.Header("dlq-error-reason", Encoding.UTF8.GetBytes(cause)), new Confluent.Kafka.Header("dlq-service", i < 24 ? "payment-service"u8.ToArray() : "stock-service"u8.ToArray())],
                });
            }
        }

        await console.OpenAsync(lead, "/dead-letters");
        var group = lead.Locator($"[data-testid=dead-letter-group][data-cause='{cause}']");
        await Assertions.Expect(lead.Locator("[data-testid=dead-letter-group-count]").First).ToHaveTextAsync("26", new() { Timeout = 30_000 });
        await group.ClickAsync();
        await Assertions.Expect(lead.GetByTestId("bulk-scope")).ToContainTextAsync("cause " + cause, Contains);
        await lead.Locator("input[data-testid=bulk-reason-input], [data-testid=bulk-reason-input] input").First.FillAsync("Gateway token cache flushed; replaying the group");
        await lead.Locator("input[data-testid=bulk-rate-input], [data-testid=bulk-rate-input] input").First.FillAsync("5");
        await lead.Locator("input[data-testid=bulk-rate-input], [data-testid=bulk-rate-input] input").First.PressAsync("Tab");
        await ConsoleFixture.ScreenshotAsync(lead, "bulk-dead-letters-panel");
        await lead.GetByTestId("bulk-dry-run-replay").ClickAsync();

        await lead.WaitForURLAsync(url => url.Contains("/bulk/", StringComparison.Ordinal));
        await Assertions.Expect(lead.GetByTestId("bulk-dry-records")).ToHaveTextAsync("26", new() { Timeout = 30_000 });
        await Assertions.Expect(lead.GetByTestId("bulk-violation")).ToContainTextAsync("2 record(s) from stock-dlq, which has no retry topic");
        await Assertions.Expect(lead.GetByTestId("bulk-dry-estimate")).ToHaveTextAsync("6 s");
        await Assertions.Expect(lead.GetByTestId("bulk-pause")).ToBeDisabledAsync();
        await ConsoleFixture.ScreenshotAsync(lead, "bulk-dry-run");

        await lead.GetByTestId("bulk-start").ClickAsync();
        await Assertions.Expect(lead.GetByTestId("bulk-state")).ToHaveTextAsync("running", new() { Timeout = 30_000 });
        await Assertions.Expect(lead.GetByTestId("bulk-start")).ToBeDisabledAsync();
        await Assertions.Expect(lead.GetByTestId("bulk-result-row").Locator("xpath=self::*[@data-state='done']").First).ToBeVisibleAsync(Visible);
        await ConsoleFixture.ScreenshotAsync(lead, "bulk-running");

        await Assertions.Expect(lead.GetByTestId("bulk-state")).ToHaveTextAsync("finished", new() { Timeout = 60_000 });
        await Assertions.Expect(lead.GetByTestId("bulk-counts")).ToContainTextAsync("24 done · 2 refused · 0 pending", Contains);
        foreach (var button in new[] { "bulk-start", "bulk-pause", "bulk-resume", "bulk-cancel" })
        {
            await Assertions.Expect(lead.GetByTestId(button)).ToBeDisabledAsync();
        }

        await Assertions.Expect(lead.GetByTestId("bulk-disabled-reason")).ToHaveTextAsync("the job is finished: nothing more to do");
        await lead.GetByTestId("bulk-filter-refused").ClickAsync();
        await Assertions.Expect(lead.GetByTestId("bulk-result-row")).ToHaveCountAsync(2);
        await Assertions.Expect(lead.GetByTestId("bulk-result-row").First).ToContainTextAsync("no retry topic is configured for stock-dlq");
        await lead.GetByTestId("bulk-filter-all").ClickAsync();
        await ConsoleFixture.ScreenshotAsync(lead, "bulk-finished-with-failures");
        await console.OpenAsync(dark, new Uri(lead.Url).PathAndQuery);
        await Assertions.Expect(dark.GetByTestId("bulk-state")).ToHaveTextAsync("finished", new() { Timeout = 30_000 });
        await ConsoleFixture.ScreenshotAsync(dark, "bulk-finished-with-failures-dark");
        await console.OpenAsync(lead, "/bulk");
        await Assertions.Expect(lead.GetByTestId("bulk-job-row")).ToHaveCountAsync(1);
        await ConsoleFixture.ScreenshotAsync(lead, "bulk-jobs");

        // The group counts its replays; one order's payment then succeeds: that replay recovered.
        await console.OpenAsync(lead, "/dead-letters");
        var replays = lead.Locator("[data-testid=dead-letter-group-replays]").First;
        await Assertions.Expect(replays).ToContainTextAsync("24: 0 recovered", Contains);
        using (var orders = console.Kafka.CreateProducer())
        {
            await orders.PublishAsync([Events.Step(firstOrder, "order-placed", 0), Events.Step(firstOrder, "payment-authorized", 1)]);
        }

        await Assertions.Expect(replays).ToContainTextAsync("24: 1 recovered", Contains);
        await ConsoleFixture.ScreenshotAsync(lead, "bulk-dead-letter-group-recovered");

        // A support agent finds the bulk buttons disabled, with the reason.
        var agent = await console.NewPageAsync(user: "agent");
        await console.OpenAsync(agent, "/dead-letters");
        await Assertions.Expect(agent.GetByTestId("bulk-dry-run-replay")).ToBeDisabledAsync(new() { Timeout = 30_000 });
        await Assertions.Expect(agent.GetByTestId("bulk-panel-disabled-reason").First).ToContainTextAsync("your role SupportAgent may not replay in bulk");
    }
}
