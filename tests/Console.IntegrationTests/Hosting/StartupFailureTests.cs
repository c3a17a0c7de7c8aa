using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Hosting;

/// <summary>Bad configuration or unreachable dependencies end the real executables with one actionable line.</summary>
[Collection(PostgresCollection.Name)]
public sealed class StartupFailureTests(PostgresServer postgres)
{
    [Theory]
    [InlineData("Console.Ingest")]
    [InlineData("Console.Web")]
    public async Task Unreachable_postgres_ends_start_with_one_line_and_exit_code_2(string app)
    {
        var closedPort = PostgresServer.FreePort();
        var (exitCode, stderr) = await RunAsync(app, TestUsers.With(new()
        {
            ["ConnectionStrings__ReadModel"] = $"Host=127.0.0.1;Port={closedPort};Database=orderflow;Username=postgres;Timeout=1",
            ["Kafka__BootstrapServers"] = "127.0.0.1:1",
            ["Kafka__ConnectTimeout"] = "00:00:01",
        }));

        Assert.Equal(2, exitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"{app} cannot start: PostgreSQL at 127.0.0.1:{closedPort}/orderflow is unreachable", line, StringComparison.Ordinal);
        Assert.Contains("ConnectionStrings__ReadModel", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreachable_kafka_ends_start_with_one_line_and_exit_code_2()
    {
        var db = await postgres.CreateDatabaseAsync();
        var (exitCode, stderr) = await RunAsync("Console.Ingest", new()
        {
            ["ConnectionStrings__ReadModel"] = db,
            ["Kafka__BootstrapServers"] = $"127.0.0.1:{PostgresServer.FreePort()}",
            ["Kafka__ConnectTimeout"] = "00:00:02",
        });

        Assert.Equal(2, exitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Console.Ingest cannot start: Kafka at 127.0.0.1:", line, StringComparison.Ordinal);
        Assert.Contains("Kafka__BootstrapServers", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "Host=127.0.0.1", "Kafka:BootstrapServers is not set")]
    [InlineData("127.0.0.1:9092", "", "ConnectionStrings:ReadModel is not set")]
    [InlineData("127.0.0.1:9092", "Host=127.0.0.1;NoSuchKeyword=1", "ConnectionStrings:ReadModel is not a valid PostgreSQL connection string")]
    public async Task Missing_or_invalid_configuration_is_named_in_one_line(string bootstrap, string connectionString, string expected)
    {
        var (exitCode, stderr) = await RunAsync("Console.Ingest", new()
        {
            ["ConnectionStrings__ReadModel"] = connectionString,
            ["Kafka__BootstrapServers"] = bootstrap,
        });

        Assert.Equal(2, exitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Sla__ExpiryPolicy", "Bogus", "Sla:ExpiryPolicy")]
    [InlineData("Sla__AtRiskShare", "abc", "Sla:AtRiskShare")]
    public async Task An_unreadable_setting_is_named_in_one_line(string key, string value, string named)
    {
        var (exitCode, stderr) = await RunAsync("Console.Ingest", new()
        {
            ["ConnectionStrings__ReadModel"] = "Host=127.0.0.1",
            ["Kafka__BootstrapServers"] = "127.0.0.1:9092",
            [key] = value,
        });

        Assert.Equal(2, exitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Console.Ingest cannot start: Failed to convert configuration value", line, StringComparison.Ordinal);
        Assert.Contains(named, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_old_console_at_risk_share_is_refused_in_one_line_naming_the_one_setting()
    {
        var (exitCode, stderr) = await RunAsync("Console.Web", TestUsers.With(new()
        {
            ["ConnectionStrings__ReadModel"] = "Host=127.0.0.1",
            ["Kafka__BootstrapServers"] = "127.0.0.1:9092",
            ["Console__AtRiskShare"] = "0.7",
        }));

        Assert.Equal(2, exitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("Console.Web cannot start: Console:AtRiskShare is no longer read: set Sla:AtRiskShare (Sla__AtRiskShare), the one setting Console.Ingest and Console.Web share.", line);
    }

    [Fact]
    public async Task Ingest_and_web_started_together_on_a_new_database_both_come_up()
    {
        using var kafka = new KafkaBroker();
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__ReadModel"] = await postgres.CreateDatabaseAsync(),
            ["Kafka__BootstrapServers"] = kafka.BootstrapServers,
        };
        var ingestUrl = $"http://127.0.0.1:{PostgresServer.FreePort()}";
        var webUrl = $"http://127.0.0.1:{PostgresServer.FreePort()}";

        await using var ingest = AppProcess.Start("Console.Ingest", environment, "--urls", ingestUrl);
        await using var web = AppProcess.Start("Console.Web", TestUsers.With(new(environment)), "--urls", webUrl);

        await Task.WhenAll(ingest.WaitForHealthyAsync(ingestUrl, TimeSpan.FromSeconds(60)), web.WaitForHealthyAsync(webUrl, TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task An_invalid_workflow_is_named_in_one_line()
    {
        var (exitCode, stderr) = await RunAsync("Console.Ingest", new()
        {
            ["ConnectionStrings__ReadModel"] = "Host=127.0.0.1",
            ["Kafka__BootstrapServers"] = "127.0.0.1:9092",
            ["Workflow__Steps__1__After__0"] = "nowhere",
        });

        Assert.Equal(2, exitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("Console.Ingest cannot start: Workflow: step 'payment-authorized' runs after unknown step 'nowhere'", line);
    }

    [Theory]
    [InlineData("Bulk__DefaultRate", "500", "Bulk:DefaultRate (500) is above Bulk:MaxRate (200)")]
    [InlineData("Bulk__MaxRate", "0", "MaxRate")]
    public async Task An_inconsistent_bulk_setting_is_named_in_one_line(string key, string value, string named)
    {
        var (exitCode, stderr) = await RunAsync("Console.Web", TestUsers.With(new()
        {
            ["ConnectionStrings__ReadModel"] = "Host=127.0.0.1",
            ["Kafka__BootstrapServers"] = "127.0.0.1:9092",
            [key] = value,
        }));

        Assert.Equal(2, exitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(named, line, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Stderr)> RunAsync(string app, Dictionary<string, string> environment)
    {
        await using var process = AppProcess.Start(app, environment, "--urls", "http://127.0.0.1:0");
        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exitCode, process.Stderr);
    }
}
