using Microsoft.Playwright;

namespace OrderFlow.BrowserTests;

/// <summary>The freshness banner tells the truth when Console.Ingest stops, and again when it is back. Its own console: it stops Ingest.</summary>
public sealed class FreshnessTests(ConsoleFixture console) : IClassFixture<ConsoleFixture>
{
    [Fact]
    public async Task The_banner_warns_when_ingest_stops_and_recovers_when_it_restarts()
    {
        var page = await console.NewPageAsync();
        await console.OpenAsync(page, "/orders");
        var banner = page.GetByTestId("freshness");
        await Assertions.Expect(banner).ToHaveAttributeAsync("data-warning", "false", new() { Timeout = 30_000 });
        await Assertions.Expect(banner).ToContainTextAsync("ingest");

        await console.StopIngestAsync();

        await Assertions.Expect(banner).ToHaveAttributeAsync("data-warning", "true", new() { Timeout = 30_000 });
        await Assertions.Expect(banner).ToContainTextAsync("Console.Ingest is not running");
        await ConsoleFixture.ScreenshotAsync(page, "freshness-ingest-stopped");

        await console.StartIngestAsync();

        await Assertions.Expect(banner).ToHaveAttributeAsync("data-warning", "false", new() { Timeout = 30_000 });
    }
}
