using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using OrderFlow.Domain.Workflow;
using OrderFlow.Platform.Workflow;
using OrderFlow.Testing;
using OrderFlow.Web.Flow;

namespace OrderFlow.IntegrationTests.Flow;

/// <summary>
/// The dashboard waits for the last hour's first reading once, for FirstHourWait at most; while that reading still runs
/// (minutes after a busy hour), later summaries go out at once with the hour pending. Real PostgreSQL; the hour reading is
/// held back by a lock on order_events, the wait measured on a fake clock.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class FlowHourWaitTests(PostgresServer postgres)
{
    [Fact]
    public async Task A_first_hour_reading_still_running_is_waited_for_once_and_later_summaries_do_not_wait()
    {
        var db = await postgres.CreateDatabaseAsync();
        await ReadModel.MigrateAsync(db);

        await using var dataSource = NpgsqlDataSource.Create(db);
        await using var holder = await dataSource.OpenConnectionAsync();
        await using var hold = await holder.BeginTransactionAsync();
        await using (var lockEvents = new NpgsqlCommand("lock table order_events in access exclusive mode", holder, hold))
        {
            await lockEvents.ExecuteNonQueryAsync();
        }

        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var queries = new FlowQueries(dataSource, new WorkflowCatalog(WorkflowDefinition.Default), Options.Create(new AtRiskOptions()), clock);
        var safety = TimeSpan.FromSeconds(30);

        // The first summary waits for the hour on the (fake) clock; it goes out pending once FirstHourWait has passed.
        var first = queries.SummaryAsync();
        await Eventually.UntilAsync(() =>
        {
            clock.Advance(FlowQueries.FirstHourWait);
            return Task.FromResult(first.IsCompleted);
        }, done => done, safety, "the first summary out after the wait");
        Assert.True((await first).HourPending);

        // The reading still runs (order_events is locked): the next summaries do not wait for it, with the clock standing still.
        for (var i = 0; i < 3; i++)
        {
            var next = await queries.SummaryAsync().WaitAsync(safety);
            Assert.True(next.HourPending);
            Assert.Empty(next.Minutes);
        }

        // Once the reading can finish, the summary carries the hour.
        await hold.RollbackAsync();
        await Eventually.UntilAsync(() => queries.SummaryAsync(), s => !s.HourPending, safety, "the hour read once the lock is gone");
    }
}
