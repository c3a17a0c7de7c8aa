using System.Text;
using Confluent.Kafka;
using Microsoft.Playwright;

namespace OrderFlow.BrowserTests;

/// <summary>Four eyes in a real browser: the lead who asked for a bulk purge cannot approve it; a second lead can, and it runs.</summary>
public sealed class BulkPurgeApprovalTests(ConsoleFixture console) : IClassFixture<ConsoleFixture>
{
    private static readonly LocatorAssertionsToHaveTextOptions Soon = new() { Timeout = 60_000 };

    [Fact]
    public async Task A_bulk_purge_waits_for_a_second_ops_lead_and_runs_once_approved()
    {
        const string error = "load-test record without an order";
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = console.Kafka.BootstrapServers }).Build())
        {
            for (var i = 0; i < 4; i++)
            {
                await producer.ProduceAsync("stock-dlq", new Message<string, byte[]>
                {
                    Key = $"LOADTEST-{i}",
                    Value = Encoding.UTF8.GetBytes("{}"),
                    Headers = [new Confluent.Kafka.Header("dlq-error-reason", Encoding.UTF8.GetBytes(error))],
                });
            }
        }

        var lead = await console.NewPageAsync(user: "lead");
        await console.OpenAsync(lead, "/dead-letters?error=" + Uri.EscapeDataString("load-test"));
        await Assertions.Expect(lead.Locator("[data-testid=dead-letter-group-count]").First).ToHaveTextAsync("4", Soon);
        // The page is live (its circuit refreshed once: it refreshes every 5 s) before the form is filled in.
        await Assertions.Expect(lead.GetByTestId("live-indicator")).ToContainTextAsync("updated", new() { Timeout = 30_000 });
        await lead.Locator("input[data-testid=bulk-reason-input], [data-testid=bulk-reason-input] input").First.FillAsync("Load-test leftovers, nothing to recover");
        await lead.GetByTestId("bulk-dry-run-purge").ClickAsync();
        await lead.WaitForURLAsync(url => url.Contains("/bulk/", StringComparison.Ordinal));
        await Assertions.Expect(lead.GetByTestId("bulk-dry-records")).ToHaveTextAsync("4", Soon);
        await lead.GetByTestId("bulk-start").ClickAsync();

        await Assertions.Expect(lead.GetByTestId("bulk-state")).ToHaveTextAsync("awaiting-approval", Soon);
        await Assertions.Expect(lead.GetByTestId("bulk-approve")).ToBeDisabledAsync();
        await Assertions.Expect(lead.GetByTestId("bulk-disabled-reason").Filter(new() { HasText = "Approve: a bulk purge needs the approval of another OpsLead" })).ToBeVisibleAsync();
        await ConsoleFixture.ScreenshotAsync(lead, "bulk-purge-awaiting-approval");

        var second = await console.NewPageAsync(dark: true, user: "lead2");
        await console.OpenAsync(second, new Uri(lead.Url).PathAndQuery);
        // The page is live (its circuit refreshed once: it refreshes every 5 s) before the button is clicked.
        await Assertions.Expect(second.GetByTestId("live-indicator")).ToContainTextAsync("updated", new() { Timeout = 30_000 });
        await second.GetByTestId("bulk-approve").ClickAsync();
        await Assertions.Expect(second.GetByTestId("bulk-state")).ToHaveTextAsync("finished", Soon);
        await Assertions.Expect(second.GetByTestId("bulk-approved-by")).ToHaveTextAsync("lead2");
        await Assertions.Expect(second.GetByTestId("bulk-counts")).ToContainTextAsync("4 done · 0 refused · 0 pending");
        await ConsoleFixture.ScreenshotAsync(second, "bulk-purge-approved-dark");
    }
}
