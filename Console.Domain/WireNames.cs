namespace OrderFlow.Domain;

/// <summary>An enum's values as the read model, the JSON API and the screens name them: each name written once.</summary>
public sealed class WireNames<T>(params (T Value, string Name)[] names)
    where T : struct, Enum
{
    /// <summary>Every name, in the order given.</summary>
    public IReadOnlyList<string> All { get; } = names.Select(n => n.Name).ToArray();

    public string Of(T value)
    {
        foreach (var (v, name) in names)
        {
            if (EqualityComparer<T>.Default.Equals(v, value))
            {
                return name;
            }
        }

        throw new ArgumentOutOfRangeException(nameof(value), value, $"no name for this {typeof(T).Name}");
    }

    public T? Parse(string? name)
    {
        foreach (var (v, n) in names)
        {
            if (n == name)
            {
                return v;
            }
        }

        return null;
    }
}
