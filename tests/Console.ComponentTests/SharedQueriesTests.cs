using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using OrderFlow.Web.Live;

namespace OrderFlow.ComponentTests;

/// <summary>Open pages share one query per view per change (decision 0018).</summary>
public sealed class SharedQueriesTests
{
    private readonly ReadModelChanges _changes = new();
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task Many_pages_showing_one_view_run_its_query_once_per_change()
    {
        var shared = new SharedQueries(_changes, _clock);
        var runs = 0;
        var release = new TaskCompletionSource();
        async Task<int> Load(CancellationToken _)
        {
            Interlocked.Increment(ref runs);
            await release.Task;
            return runs;
        }

        var pages = Enumerable.Range(0, 50).Select(_ => shared.GetAsync("orders?sla=breached", Load, TimeSpan.FromSeconds(5))).ToList();
        release.SetResult();
        await Task.WhenAll(pages);
        Assert.Equal(1, runs);
        Assert.All(pages, p => Assert.Equal(1, p.Result));

        _changes.Publish(new ReadModelChange(1, 1, 0));
        var afterChange = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => shared.GetAsync("orders?sla=breached", Load, TimeSpan.FromSeconds(5))));

        Assert.Equal(2, runs);
        Assert.All(afterChange, r => Assert.Equal(2, r));
    }

    [Fact]
    public async Task Different_views_load_separately_and_a_view_reloads_when_older_than_its_maximum_age()
    {
        var shared = new SharedQueries(_changes, _clock);
        var runs = new Dictionary<string, int> { ["a"] = 0, ["b"] = 0 };
        Task<int> Load(string key) => Task.FromResult(++runs[key]);

        await shared.GetAsync("a", _ => Load("a"), TimeSpan.FromSeconds(5));
        await shared.GetAsync("b", _ => Load("b"), TimeSpan.FromSeconds(5));
        await shared.GetAsync("a", _ => Load("a"), TimeSpan.FromSeconds(5));
        Assert.Equal(1, runs["a"]);
        Assert.Equal(1, runs["b"]);

        _clock.Advance(TimeSpan.FromSeconds(6));
        await shared.GetAsync("a", _ => Load("a"), TimeSpan.FromSeconds(5));

        Assert.Equal(2, runs["a"]);
        Assert.Equal(1, runs["b"]);
    }

    [Fact]
    public async Task A_slow_view_is_loaded_again_only_after_three_times_its_duration_and_the_caller_still_gets_a_load_after_its_change()
    {
        var shared = new SharedQueries(_changes, _clock);
        var runs = 0;
        Task<int> Slow(CancellationToken _)
        {
            runs++;
            _clock.Advance(TimeSpan.FromMilliseconds(100)); // the query takes 100 ms
            return Task.FromResult(runs);
        }

        Assert.Equal(1, await shared.GetAsync("flow", Slow, TimeSpan.FromSeconds(15)));
        _changes.Publish(new ReadModelChange(1, 1, 0));
        var afterChange = shared.GetAsync("flow", Slow, TimeSpan.FromSeconds(15));

        // Started at 0 ms, took 100 ms: the next load may start at 300 ms, not before.
        Assert.False(afterChange.IsCompleted);
        _clock.Advance(TimeSpan.FromMilliseconds(199));
        Assert.False(afterChange.IsCompleted);
        Assert.Equal(1, runs);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, await afterChange);
    }

    [Fact]
    public async Task A_change_during_a_running_load_waits_for_it_instead_of_running_the_query_twice_at_once()
    {
        var shared = new SharedQueries(_changes, _clock);
        var running = 0;
        var most = 0;
        var runs = 0;
        var release = new TaskCompletionSource();
        async Task<int> Load(CancellationToken _)
        {
            most = Math.Max(most, Interlocked.Increment(ref running));
            var run = Interlocked.Increment(ref runs);
            if (run == 1)
            {
                await release.Task;
            }

            Interlocked.Decrement(ref running);
            return run;
        }

        var first = shared.GetAsync("flow", Load, TimeSpan.FromSeconds(15));
        _changes.Publish(new ReadModelChange(1, 1, 0));
        var second = shared.GetAsync("flow", Load, TimeSpan.FromSeconds(15));
        Assert.Equal(1, runs);

        release.SetResult();
        Assert.Equal(1, await first);
        Assert.Equal(2, await second);
        Assert.Equal(1, most);
    }

    [Fact]
    public async Task A_load_of_a_second_or_more_is_logged_with_its_view_and_a_quicker_one_is_not()
    {
        var logger = new ListLogger();
        var shared = new SharedQueries(_changes, _clock, logger);
        Task<int> Taking(TimeSpan duration)
        {
            _clock.Advance(duration);
            return Task.FromResult(1);
        }

        await shared.GetAsync("order:ORD-1", _ => Taking(TimeSpan.FromMilliseconds(999)), TimeSpan.FromSeconds(5));
        Assert.Empty(logger.Lines);

        _clock.Advance(TimeSpan.FromSeconds(6));
        await shared.GetAsync("order:ORD-1", _ => Taking(TimeSpan.FromMilliseconds(1800)), TimeSpan.FromSeconds(5));
        var line = Assert.Single(logger.Lines);
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Contains("order:ORD-1", line.Message, StringComparison.Ordinal);
        Assert.Contains("1800 ms", line.Message, StringComparison.Ordinal);
    }

    private sealed class ListLogger : ILogger<SharedQueries>
    {
        public List<(LogLevel Level, string Message)> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, formatter(state, exception)));
    }

    [Fact]
    public async Task A_failed_load_is_not_kept()
    {
        var shared = new SharedQueries(_changes, _clock);
        var attempts = 0;

        await Assert.ThrowsAsync<TimeoutException>(() => shared.GetAsync<int>("a", _ => { attempts++; throw new TimeoutException("pool exhausted"); }, TimeSpan.FromSeconds(5)));
        var value = await shared.GetAsync("a", _ => Task.FromResult(++attempts), TimeSpan.FromSeconds(5));

        Assert.Equal(2, value);
    }
}

/// <summary>A page re-queries only for changes to what it shows.</summary>
public sealed class ChangeFiltersTests
{
    [Fact]
    public void An_order_page_hears_its_own_order_a_list_any_order_and_an_overfull_notification_concerns_every_order()
    {
        var other = new OrderFlow.Platform.ReadModel.ChangeNotification { Events = 1, Orders = 1, OrderIds = ["ORD-2"] };
        var mine = other with { OrderIds = ["ORD-1"] };
        var notAllNamed = other with { Orders = 3 };

        Assert.False(ChangeFilters.Order("ORD-1")(other));
        Assert.True(ChangeFilters.Order("ORD-1")(mine));
        Assert.True(ChangeFilters.Order("ORD-1")(notAllNamed));
        Assert.True(ChangeFilters.Orders(other));
        Assert.False(ChangeFilters.DeadLetters(other));
        Assert.True(ChangeFilters.DeadLetters(new OrderFlow.Platform.ReadModel.ChangeNotification { DeadLetters = 1 }));
        Assert.False(ChangeFilters.Quarantine(other));
    }
}
