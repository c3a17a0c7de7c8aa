using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Actions;

/// <summary>
/// What the action tests run on: a database of their own, the Kafka-protocol broker, Console.Ingest in process (its
/// outbox publisher delivers) and Console.Web as a process with the test users, which a test may kill and start again.
/// </summary>
public sealed class ActionStack(PostgresServer postgres, IReadOnlyDictionary<string, string>? webSettings = null) : IAsyncDisposable
{
    private IngestHost _ingest = null!;
    private AppProcess? _web;

    public KafkaBroker Kafka { get; } = new();

    public string Db { get; private set; } = "";

    public ReadModel ReadModel { get; private set; } = null!;

    public string WebUrl { get; private set; } = "";

    public async Task StartAsync(TimeSpan timeout)
    {
        Db = await postgres.CreateDatabaseAsync();
        ReadModel = new ReadModel(Db);
        _ingest = await IngestHost.StartAsync(Db, Kafka.BootstrapServers);
        await StartWebAsync(timeout);
    }

    /// <summary>Starts Console.Web (again) on a new port against the same database and broker.</summary>
    public async Task StartWebAsync(TimeSpan timeout)
    {
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__ReadModel"] = Db,
            ["Kafka__BootstrapServers"] = Kafka.BootstrapServers,
        };
        foreach (var (key, value) in webSettings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        WebUrl = $"http://127.0.0.1:{PostgresServer.FreePort()}";
        _web = AppProcess.Start("Console.Web", TestUsers.With(environment), "--urls", WebUrl);
        await _web.WaitForHealthyAsync(WebUrl, timeout);
    }

    /// <summary>Kills the Console.Web process (no graceful stop).</summary>
    public async Task KillWebAsync()
    {
        if (_web is not null)
        {
            await _web.DisposeAsync();
            _web = null;
        }
    }

    /// <summary>A client of Console.Web with an API key.</summary>
    public HttpClient Client(string apiKey)
    {
        var http = new HttpClient { BaseAddress = new Uri(WebUrl) };
        http.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        return http;
    }

    public async ValueTask DisposeAsync()
    {
        await KillWebAsync();
        await _ingest.DisposeAsync();
        Kafka.Dispose();
    }
}
