using System.Collections.Concurrent;

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
    private long _version;
    private long _loads;

    public SharedQueries(ReadModelChanges changes, TimeProvider clock)
    {
        _clock = clock;
        changes.Subscribe(_ =>
        {
            Interlocked.Increment(ref _version);
            return Task.CompletedTask;
        });
    }

    /// <summary>Loads run since start (a figure for the open-pages benchmark and the tests).</summary>
    public long Loads => Interlocked.Read(ref _loads);

    /// <summary>The view's current result: shared with every caller asking for the same key at the same read-model version.</summary>
    public async Task<T> GetAsync<T>(string key, Func<CancellationToken, Task<T>> load, TimeSpan maxAge)
    {
        var now = _clock.GetUtcNow();
        var version = Interlocked.Read(ref _version);
        while (true)
        {
            var current = _entries.GetValueOrDefault(key);
            if (current is not null && current.Version == version && now - current.StartedAt < maxAge && !current.Task.IsFaulted)
            {
                return (T)await current.Task;
            }

            var next = new Entry(version, now, new Lazy<Task<object>>(async () =>
            {
                Interlocked.Increment(ref _loads);
                return (object)(await load(CancellationToken.None))!;
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

        public Task<object> Task => load.Value;
    }
}
