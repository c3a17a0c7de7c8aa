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
/// held back by a lock on flow_minutes, the wait measured on a fake clock.
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
        await using var hold = await LockEventsAsync(holder);
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

        // The reading still runs (flow_minutes is locked): the next summaries do not wait for it, with the clock standing still.
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

    [Fact]
    public async Task An_hour_reading_that_times_out_is_not_started_again_at_once()
    {
        var db = await postgres.CreateDatabaseAsync();
        await ReadModel.MigrateAsync(db);
        await using var dataSource = NpgsqlDataSource.Create(db);
        await using var holder = await dataSource.OpenConnectionAsync();
        await using var hold = await LockEventsAsync(holder);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var queries = new FlowQueries(dataSource, new WorkflowCatalog(WorkflowDefinition.Default), Options.Create(new AtRiskOptions()), clock)
        {
            HourTimeout = TimeSpan.FromSeconds(1),
        };
        var safety = TimeSpan.FromSeconds(30);
        // Read outside the lock holder's transaction (pg_stat_activity is a snapshot per transaction).
        async Task<long> HourReadingsWaiting()
        {
            await using var count = dataSource.CreateCommand(
                "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%from flow_minutes%'");
            return Convert.ToInt64(await count.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        }

        // The first reading waits on the lock until PostgreSQL cancels it (1 s, real time); the summary goes out pending.
        var first = queries.SummaryAsync();
        await Eventually.UntilAsync(HourReadingsWaiting, n => n == 1, safety, "the first hour reading waiting on the lock");
        await Eventually.UntilAsync(HourReadingsWaiting, n => n == 0, safety, "the first hour reading cancelled by its timeout");
        Assert.True((await first.WaitAsync(safety)).HourPending);

        // A second later (on the summary's clock) the failed reading is still "fresh": no new one waits on the lock.
        // (A new one would wait on the lock for its second while the summary waits for it: watched all along.)
        clock.Advance(TimeSpan.FromSeconds(1));
        var second = queries.SummaryAsync();
        var seen = 0L;
        while (!second.IsCompleted)
        {
            seen = Math.Max(seen, await HourReadingsWaiting());
        }

        Assert.True((await second).HourPending);
        Assert.Equal(0, seen);

        // Past HourRefresh it is read again (and waited for, being the first that could succeed, until it too is cancelled).
        clock.Advance(FlowQueries.HourRefresh);
        var third = queries.SummaryAsync();
        await Eventually.UntilAsync(HourReadingsWaiting, n => n == 1, safety, "a new hour reading after the spacing");
        Assert.True((await third.WaitAsync(safety)).HourPending);
    }

    /// <summary>Holds flow_minutes locked (the hour's reading waits on it) until the transaction ends.</summary>
    private static async Task<NpgsqlTransaction> LockEventsAsync(NpgsqlConnection holder)
    {
        var hold = await holder.BeginTransactionAsync();
        await using var lockEvents = new NpgsqlCommand("lock table flow_minutes in access exclusive mode", holder, hold);
        await lockEvents.ExecuteNonQueryAsync();
        return hold;
    }
}
