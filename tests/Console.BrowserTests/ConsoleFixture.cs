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
    private Dictionary<string, string> _environment = [];
    private string _ingestUrl = "";
    private IPlaywright? _playwright;

    public KafkaBroker Kafka { get; } = new();

    public string WebUrl { get; } = $"http://127.0.0.1:{PostgresServer.FreePort()}";

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>This fixture's own copy of the workflow file (Workflow__File of both apps), for tests that change the workflow.</summary>
    public string WorkflowFile { get; } = Path.Combine(Directory.CreateTempSubdirectory("console-workflow-").FullName, "workflow.json");

    public async Task InitializeAsync()
    {
        await _postgres.InitializeAsync();
        File.Copy(Path.Combine(AppProcess.RepositoryRoot(), "Console.Platform", "workflow.json"), WorkflowFile, overwrite: true);
        var environment = _environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__ReadModel"] = await _postgres.CreateDatabaseAsync("browser"),
            ["Kafka__BootstrapServers"] = Kafka.BootstrapServers,
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["Workflow__File"] = WorkflowFile,
        };
        _ingestUrl = $"http://127.0.0.1:{PostgresServer.FreePort()}";
        environment["Console__IngestUrl"] = _ingestUrl;
        await StartIngestAsync();
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

    /// <summary>Where a test saves its screenshots (artifacts of the run): .local/screenshots in the repository.</summary>
    public static string ScreenshotDirectory { get; } = Directory.CreateDirectory(Path.Combine(AppProcess.RepositoryRoot(), ".local", "screenshots")).FullName;

    public async Task StartIngestAsync()
    {
        _ingest = AppProcess.Start("Console.Ingest", _environment, "--urls", _ingestUrl);
        await _ingest.WaitForHealthyAsync(_ingestUrl, TimeSpan.FromSeconds(60));
    }

    public async Task StopIngestAsync()
    {
        if (_ingest is not null)
        {
            await _ingest.DisposeAsync();
            _ingest = null;
        }
    }

    /// <summary>The BusinessUser API key of Console.Web/appsettings.Development.json (README), for programs: HTTP clients, the hub.</summary>
    public const string ReadOnlyApiKey = "demo-readonly-key-0001";

    /// <summary>The SupportAgent API key of Console.Web/appsettings.Development.json (README).</summary>
    public const string SupportApiKey = "demo-support-key-0001";

    /// <summary>The README's demo users (Console.Web/appsettings.Development.json): user name → password.</summary>
    public static readonly IReadOnlyDictionary<string, string> DemoUsers = new Dictionary<string, string>
    {
        ["agent"] = "agent-demo",
        ["lead"] = "lead-demo",
        ["lead2"] = "lead2-demo",
        ["business"] = "business-demo",
    };

    /// <summary>A new page at the viewport the screenshots use, signed in as <paramref name="user"/> (null: not signed in).</summary>
    public async Task<IPage> NewPageAsync(bool dark = false, string? user = "agent")
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1440, Height = 960 } });
        if (dark)
        {
            await context.AddCookiesAsync([new Cookie { Name = "console-theme", Value = "dark", Url = WebUrl }]);
        }

        var page = await context.NewPageAsync();
        if (user is not null)
        {
            await SignInAsync(page, user);
        }

        return page;
    }

    /// <summary>Signs in through the sign-in form, as a person would.</summary>
    public async Task SignInAsync(IPage page, string user)
    {
        await page.GotoAsync(WebUrl + "/login");
        await page.GetByTestId("login-user").FillAsync(user);
        await page.GetByTestId("login-password").FillAsync(DemoUsers[user]);
        await page.GetByTestId("login-submit").ClickAsync();
        await page.WaitForURLAsync(url => !url.Contains("/login", StringComparison.Ordinal));
    }

    /// <summary>
    /// Opens a console page and waits until its circuit runs it: the server-rendered page shows first, and a click made
    /// before the circuit is connected does nothing.
    /// </summary>
    public async Task<IResponse?> OpenAsync(IPage page, string pathAndQuery)
    {
        var response = await page.GotoAsync(WebUrl + pathAndQuery);
        await Assertions.Expect(page.Locator("[data-interactive]")).ToHaveAttributeAsync("data-interactive", "true", new() { Timeout = 30_000 });
        return response;
    }

    public static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });

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

        Directory.Delete(Path.GetDirectoryName(WorkflowFile)!, recursive: true);

        Kafka.Dispose();
        await _postgres.DisposeAsync();
    }
}
