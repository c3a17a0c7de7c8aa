using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using OrderFlow.Domain.Workflow;
using OrderFlow.Ingest.Sla;
using OrderFlow.Platform.Kafka;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Sla;

/// <summary>
/// The SLA watcher judges deadlines only when the projection has caught up with order-ops: measured from the offsets
/// stored in PostgreSQL against the real broker's high watermarks.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class SlaHoldBackTests(PostgresServer postgres) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly KafkaBroker _kafka = new();

    [Fact]
    public async Task Breaches_wait_while_the_projection_is_behind_and_are_recorded_once_it_is_within_the_limit()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        using var producer = _kafka.CreateProducer();

        // An order placed an hour ago and projected: its payment, stock and end-to-end deadlines are long past.
        await using (var ingest = await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: new Dictionary<string, string?> { ["Sla:ExpiryPolicy"] = "Off" }))
        {
            await producer.PublishAsync([Events.StepAt("ORD-HOLD", "order-placed", DateTimeOffset.UtcNow.AddHours(-1))]);
            await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from consumer_offsets where next_offset > 0"), n => n == 1, Timeout, "the order to be projected");
        }

        // Ingest down: 25 more records wait on order-ops, unprojected.
        await producer.PublishAsync(Enumerable.Range(0, 5).SelectMany(i => Events.HappyPath($"ORD-BACKLOG{i}")));

        await using var dataSource = NpgsqlDataSource.Create(db);
        var unmeasured = Watcher(dataSource, holdBackWhenBehind: 100, out _);
        Assert.True((await unmeasured.CheckAsync(CancellationToken.None)).HeldBack, "no backlog measured yet: held back");

        var strict = Watcher(dataSource, holdBackWhenBehind: 10, out var strictBacklog);
        await MeasureAsync(strictBacklog);
        Assert.Equal(25, strictBacklog.Latest!.Behind);
        var held = await strict.CheckAsync(CancellationToken.None);
        Assert.True(held.HeldBack);
        Assert.Equal(0, await readModel.CountAsync("select count(*) from sla_breaches"));
        Assert.NotEqual("breached", (await readModel.RowsAsync("select sla_state from orders where order_id = 'ORD-HOLD'"))[0]["sla_state"]);

        var lenient = Watcher(dataSource, holdBackWhenBehind: 100, out var lenientBacklog);
        await MeasureAsync(lenientBacklog);
        var judged = await lenient.CheckAsync(CancellationToken.None);
        Assert.False(judged.HeldBack);
        Assert.Equal(3, judged.Breached);
        Assert.Equal(
            ["end-to-end", "payment-authorized", "stock-reserved"],
            (await readModel.RowsAsync("select scope from sla_breaches where order_id = 'ORD-HOLD' order by scope")).Select(r => (string)r["scope"]!));
    }

    private SlaWatcher Watcher(NpgsqlDataSource dataSource, int holdBackWhenBehind, out ProjectionBacklog backlog)
    {
        var sla = Options.Create(new SlaOptions { ExpiryPolicy = ExpiryPolicy.AlertOnly, HoldBackWhenBehind = holdBackWhenBehind, BacklogCheckInterval = TimeSpan.FromMilliseconds(100) });
        var kafka = Options.Create(new KafkaOptions { BootstrapServers = _kafka.BootstrapServers, ConsumerGroup = "order-flow-console" });
        backlog = new ProjectionBacklog(dataSource, kafka, sla, TimeProvider.System, NullLogger<ProjectionBacklog>.Instance);
        return new SlaWatcher(dataSource, new OrderFlow.Platform.Workflow.WorkflowCatalog(WorkflowDefinition.Default), backlog, sla, kafka, TimeProvider.System, NullLogger<SlaWatcher>.Instance);
    }

    /// <summary>Runs the backlog's own loop until its first measurement.</summary>
    private static async Task MeasureAsync(ProjectionBacklog backlog)
    {
        await backlog.StartAsync(CancellationToken.None);
        try
        {
            await Eventually.UntilAsync(() => Task.FromResult(backlog.Latest is not null), measured => measured, Timeout, "a backlog measurement");
        }
        finally
        {
            await backlog.StopAsync(CancellationToken.None);
            backlog.Dispose();
        }
    }

    public void Dispose() => _kafka.Dispose();
}
