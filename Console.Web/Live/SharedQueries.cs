using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;

namespace OrderFlow.Web.Live;

/// <summary>
/// One query per view per change per process: every circuit that shows the same view (same key) gets the result of one
/// shared load, run again only after the read model changed or the result is older than the view's maximum age.
/// So the work per change grows with the number of distinct views open, not with the number of open pages.
/// </summary>
public sealed class SharedQueries
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private long _version;
    private long _loads;

    public SharedQueries(ReadModelChanges changes, TimeProvider clock, ILogger<SharedQueries>? logger = null)
    {
        _clock = clock;
        _logger = logger ?? NullLogger<SharedQueries>.Instance;
        changes.Subscribe(_ =>
        {
            Interlocked.Increment(ref _version);
            return Task.CompletedTask;
        });
    }

    /// <summary>Loads run since start (a figure for the open-pages benchmark and the tests).</summary>
    public long Loads => Interlocked.Read(ref _loads);

    /// <summary>
    /// A view's next load starts no sooner than this many times its previous load's duration after that one started, and
    /// never while it still runs: a view whose query takes 350 ms (the flow dashboard's in-flight counts over 45,000
    /// in-flight orders) keeps PostgreSQL at most a third busy however often the read model changes, while a 3 ms query
    /// still refreshes at the pace of the changes (docs/benchmarks.md, open pages at 1,000,000 orders).
    /// </summary>
    public const int Spacing = 3;

    /// <summary>A load that took this long is logged: it holds its view's next load back <see cref="Spacing"/> times as long.</summary>
    public static readonly TimeSpan SlowLoad = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The view's current result: shared with every caller asking for the same key at the same read-model version. A caller
    /// always gets a result loaded after the change it saw (it may wait for the view's spacing), never an older one.
    /// </summary>
    public async Task<T> GetAsync<T>(string key, Func<CancellationToken, Task<T>> load, TimeSpan maxAge)
    {
        var version = Interlocked.Read(ref _version);
        while (true)
        {
            var now = _clock.GetUtcNow();
            var current = _entries.GetValueOrDefault(key);
            if (current is not null && current.Version >= version && now - current.StartedAt < maxAge && !current.Task.IsFaulted)
            {
                return (T)await current.Task;
            }

            if (current is { Task.IsFaulted: false })
            {
                if (!current.Task.IsCompleted)
                {
                    await current.Task.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                    continue;
                }

                var earliest = current.StartedAt + (current.FinishedAt - current.StartedAt) * Spacing;
                if (now < earliest)
                {
                    await Task.Delay(earliest - now, _clock);
                    continue;
                }
            }

            Entry? next = null;
            next = new Entry(Interlocked.Read(ref _version), now, new Lazy<Task<object>>(async () =>
            {
                Interlocked.Increment(ref _loads);
                var result = (object)(await load(CancellationToken.None))!;
                next!.FinishedAt = _clock.GetUtcNow();
                if (next.FinishedAt - next.StartedAt >= SlowLoad)
                {
                    _logger.LogWarning("Reading {View} took {Milliseconds:F0} ms; the pages showing it refresh no sooner than {Spacing} times that after it started",
                        key, (next.FinishedAt - next.StartedAt).TotalMilliseconds, Spacing);
                }

                return result;
            }));
            var stored = current is null ? _entries.TryAdd(key, next) : _entries.TryUpdate(key, next, current);
            if (stored)
            {
                Prune(now);
                return (T)await next.Task;
            }
        }
    }

    private void Prune(DateTimeOffset now)
    {
        if (_entries.Count < 256)
        {
            return;
        }

        foreach (var (key, entry) in _entries)
        {
            if (now - entry.StartedAt > TimeSpan.FromMinutes(1))
            {
                _entries.TryRemove(key, out _);
            }
        }
    }

    private sealed class Entry(long version, DateTimeOffset startedAt, Lazy<Task<object>> load)
    {
        public long Version { get; } = version;

        public DateTimeOffset StartedAt { get; } = startedAt;

        /// <summary>When the load finished (set by the load itself; read only once <see cref="Task"/> completed).</summary>
        public DateTimeOffset FinishedAt { get; set; }

        public Task<object> Task => load.Value;
    }
}
