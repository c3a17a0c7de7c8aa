using OrderFlow.Platform.Hosting;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Workflow;

/// <summary>The workflow file changes while Console.Ingest runs (decision 0022): a valid change becomes the next version, a bad one is refused.</summary>
[Collection(PostgresCollection.Name)]
public sealed class WorkflowReloadTests(PostgresServer postgres) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly KafkaBroker _kafka = new();
    private readonly string _folder = Directory.CreateTempSubdirectory("workflow-reload-").FullName;

    private string WorkflowFile => Path.Combine(_folder, "workflow.json");

    [Fact]
    public async Task A_changed_definition_takes_effect_for_new_orders_while_in_flight_orders_keep_their_version_and_a_broken_one_is_refused()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        Write(File.ReadAllText(ShippedWorkflow));
        var logs = new CapturedLogs();
        await using var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers, logs, settings: new Dictionary<string, string?> { ["Workflow:File"] = WorkflowFile });
        using var producer = _kafka.CreateProducer();
        Assert.Equal(1, await readModel.CountAsync("select count(*) from workflow_versions"));

        // Placed under version 1: payment and stock each have 30 s.
        var oldPlaced = Now();
        await producer.PublishAsync([Events.StepAt("ORD-OLD", "order-placed", oldPlaced)]);
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from orders where order_id = 'ORD-OLD'"), n => n == 1, Timeout, "ORD-OLD stored");

        // Version 2 gives stock-reserved 2 s.
        Write(File.ReadAllText(ShippedWorkflow).Replace("""{ "Name": "stock-reserved", "After": [ "order-placed" ], "Sla": "00:00:30" }""", """{ "Name": "stock-reserved", "After": [ "order-placed" ], "Sla": "00:00:02" }""", StringComparison.Ordinal));
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from workflow_versions"), n => n == 2, Timeout, "version 2 stored");

        var newPlaced = Now();
        await producer.PublishAsync([Events.StepAt("ORD-NEW", "order-placed", newPlaced), Events.StepAt("ORD-OLD", "payment-authorized", oldPlaced.AddSeconds(1))]);
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events"), n => n == 3, Timeout, "3 events stored");

        var orders = (await readModel.RowsAsync("select order_id, workflow_version, sla_scope, sla_due_at from orders")).ToDictionary(r => (string)r["order_id"]!);
        Assert.Equal(1, orders["ORD-OLD"]["workflow_version"]);
        Assert.Equal(("stock-reserved", oldPlaced.AddSeconds(30)), ((string?)orders["ORD-OLD"]["sla_scope"], Truncated((DateTime)orders["ORD-OLD"]["sla_due_at"]!)));
        Assert.Equal(2, orders["ORD-NEW"]["workflow_version"]);
        Assert.Equal(("stock-reserved", newPlaced.AddSeconds(2)), ((string?)orders["ORD-NEW"]["sla_scope"], Truncated((DateTime)orders["ORD-NEW"]["sla_due_at"]!)));

        // The SLA watcher judges each by its own version: the new order breaches at 2 s, the old one does not.
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from sla_breaches where order_id = 'ORD-NEW' and scope = 'stock-reserved'"), n => n == 1, Timeout, "ORD-NEW breached");
        Assert.Equal(0, await readModel.CountAsync("select count(*) from sla_breaches where order_id = 'ORD-OLD'"));

        // Not JSON, then a definition the domain refuses: each refused with one line, logged once, version 2 stays.
        Write("""{ "Workflow": { "Steps": [ """);
        await Eventually.UntilAsync(() => readModel.RowsAsync("select reason from workflow_refusals where resolved_at is null"), r => r.Count == 1, Timeout, "the non-JSON file refused");
        Write(File.ReadAllText(ShippedWorkflow).Replace("""[ "stock-reserved" ]""", """[ "stock-reservd" ]""", StringComparison.Ordinal));
        var refusals = await Eventually.UntilAsync(() => readModel.RowsAsync("select reason from workflow_refusals where resolved_at is null order by last_refused_at"), r => r.Count == 2, Timeout, "the bad definition refused");
        Assert.Contains("is not valid JSON", (string)refusals[0]["reason"]!, StringComparison.Ordinal);
        Assert.Equal("Workflow: step 'shipped' runs after unknown step 'stock-reservd'", refusals[1]["reason"]);
        Assert.Equal(2, await readModel.CountAsync("select count(*) from workflow_versions"));
        Assert.Equal(1, logs.Count("runs after unknown step 'stock-reservd'"));

        await producer.PublishAsync([Events.StepAt("ORD-AFTER", "order-placed", DateTimeOffset.UtcNow)]);
        await Eventually.UntilAsync(() => readModel.CountAsync("select workflow_version from orders where order_id = 'ORD-AFTER'"), n => n == 2, Timeout, "ORD-AFTER judged by version 2");

        // Put back as it was: the refusals are over, and version 1's definition is stored again as version 3.
        Write(File.ReadAllText(ShippedWorkflow));
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from workflow_versions"), n => n == 3, Timeout, "version 3 stored");
        Assert.Equal(0, await readModel.CountAsync("select count(*) from workflow_refusals where resolved_at is null"));
        Assert.Equal(1, await readModel.CountAsync("select count(distinct content_hash) from workflow_versions where version in (1, 3)"));
    }

    [Fact]
    public async Task A_restart_with_the_same_definition_adds_no_version()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        Write(File.ReadAllText(ShippedWorkflow));
        var settings = new Dictionary<string, string?> { ["Workflow:File"] = WorkflowFile };
        await (await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: settings)).DisposeAsync();
        await using var second = await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: settings);

        Assert.Equal(1, await readModel.CountAsync("select count(*) from workflow_versions"));
        Assert.Equal(5, await readModel.CountAsync("select count(*) from workflow_steps where version = 1"));
    }

    [Fact]
    public async Task A_workflow_file_that_is_not_json_stops_the_start_with_one_line()
    {
        var db = await postgres.CreateDatabaseAsync();
        Write("Workflow: steps");

        var failure = await Assert.ThrowsAsync<StartupFailedException>(() =>
            IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: new Dictionary<string, string?> { ["Workflow:File"] = WorkflowFile }));

        Assert.StartsWith($"Workflow: {WorkflowFile} is not valid JSON", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', failure.Message);
    }

    public void Dispose()
    {
        _kafka.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private static string ShippedWorkflow => Path.Combine(AppProcess.RepositoryRoot(), "Console.Platform", "workflow.json");

    // PostgreSQL keeps microseconds.
    private static DateTimeOffset Now() => new(DateTimeOffset.UtcNow.Ticks / 10 * 10, TimeSpan.Zero);

    private static DateTimeOffset Truncated(DateTime utc) => new(utc, TimeSpan.Zero);

    /// <summary>Replaces the file in one step, as an editor saving it does, so the watcher never reads it half written.</summary>
    private void Write(string text)
    {
        var next = WorkflowFile + ".next";
        File.WriteAllText(next, text);
        File.Move(next, WorkflowFile, overwrite: true);
    }
}
