namespace OrderFlow.Domain.Flow;

/// <summary>
/// Step durations counted in buckets instead of kept one by one, so the counts of different minutes and writers add up
/// bucket by bucket and the last hour's percentiles come from their sum (decision 0026). Bucket 0 holds [0, 1 ms); bucket
/// i ≥ 1 holds [2^((i−1)/8), 2^(i/8)) ms, each about 9 % wider than the one before; the last one also holds everything
/// longer (from 2^31.75 ms, about 40 days). A percentile read from the counts lies in the bucket of the exact one: less
/// than 9 % off (1 ms under a millisecond).
/// </summary>
public static class DurationBuckets
{
    /// <summary>Buckets per histogram (PostgreSQL: an integer[] of this length).</summary>
    public const int Count = 256;

    private const int PerDoubling = 8;

    /// <summary>The bucket of a duration in milliseconds (negative ones are not durations: the caller leaves them out).</summary>
    public static int Of(double milliseconds) =>
        milliseconds < 1 ? 0 : Math.Min(Count - 1, 1 + (int)Math.Floor(Math.Log2(milliseconds) * PerDoubling));

    public static double LowerMs(int bucket) => bucket == 0 ? 0 : Math.Pow(2, (bucket - 1) / (double)PerDoubling);

    public static double UpperMs(int bucket) => Math.Pow(2, bucket / (double)PerDoubling);

    /// <summary>
    /// The q-quantile (0–1) of the durations counted: the bucket where the rank q × total falls, interpolated linearly
    /// inside it by rank. Null when nothing was counted.
    /// </summary>
    public static double? Percentile(ReadOnlySpan<long> counts, double q)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(q, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(q, 1);
        long total = 0;
        foreach (var c in counts)
        {
            total += c;
        }

        if (total == 0)
        {
            return null;
        }

        var rank = q * total;
        long before = 0;
        for (var bucket = 0; bucket < counts.Length; bucket++)
        {
            var c = counts[bucket];
            if (c > 0 && before + c >= rank)
            {
                var within = Math.Clamp((rank - before) / c, 0, 1);
                return LowerMs(bucket) + (within * (UpperMs(bucket) - LowerMs(bucket)));
            }

            before += c;
        }

        return null;
    }

    /// <summary>Adds <paramref name="counts"/> into <paramref name="sum"/>, bucket by bucket.</summary>
    public static void AddTo(Span<long> sum, ReadOnlySpan<int> counts)
    {
        for (var i = 0; i < Math.Min(sum.Length, counts.Length); i++)
        {
            sum[i] += counts[i];
        }
    }
}
