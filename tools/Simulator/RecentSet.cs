using System.Collections.Concurrent;

namespace OrderFlow.Simulator;

/// <summary>
/// A thread-safe set that forgets its oldest entries beyond a capacity, so a long run does not grow without end.
/// The simulator's memory of orders lives in these sets only: a restart forgets everything.
/// </summary>
public sealed class RecentSet(int capacity)
{
    private readonly ConcurrentDictionary<string, byte> _items = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();

    public int Count => _items.Count;

    /// <summary>Adds the item; false when it was already there.</summary>
    public bool Add(string item)
    {
        if (!_items.TryAdd(item, 0))
        {
            return false;
        }

        _order.Enqueue(item);
        while (_order.Count > capacity && _order.TryDequeue(out var oldest))
        {
            _items.TryRemove(oldest, out _);
        }

        return true;
    }

    public bool Contains(string item) => _items.ContainsKey(item);

    /// <summary>Removes the item; false when it was not there. (Its place in the eviction queue goes when it comes up.)</summary>
    public bool Remove(string item) => _items.TryRemove(item, out _);
}
