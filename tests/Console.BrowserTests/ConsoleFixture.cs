using Microsoft.Playwright;
using OrderFlow.Testing;

namespace OrderFlow.BrowserTests;

/// <summary>
/// The whole product as ./run.sh runs it — PostgreSQL, the Kafka-protocol broker, Console.Ingest and Console.Web
/// as processes — plus one headless Chromium. Shared by the tests of a class.
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    private readonly PostgresServer _postgres = new();
    private AppProcess? _ingest;
    private AppProcess? _web;
    private IPlaywright? _playwright;

    public KafkaBroker Kafka { get; } = new();

    public string WebUrl { get; } = $"http://127.0.0.1:{PostgresServer.FreePort()}";

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await _postgres.InitializeAsync();
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__ReadModel"] = await _postgres.CreateDatabaseAsync("browser"),
            ["Kafka__BootstrapServers"] = Kafka.BootstrapServers,
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
        };
        var ingestUrl = $"http://127.0.0.1:{PostgresServer.FreePort()}";
        _ingest = AppProcess.Start("Console.Ingest", environment, "--urls", ingestUrl);
        await _ingest.WaitForHealthyAsync(ingestUrl, TimeSpan.FromSeconds(60));
        _web = AppProcess.Start("Console.Web", environment, "--urls", WebUrl);
        await _web.WaitForHealthyAsync(WebUrl, TimeSpan.FromSeconds(60));

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
        if (_web is not null)
        {
            await _web.DisposeAsync();
        }

        if (_ingest is not null)
        {
            await _ingest.DisposeAsync();
        }

        Kafka.Dispose();
        await _postgres.DisposeAsync();
    }
}
