using OrderFlow.Domain.Flow;

namespace OrderFlow.Domain.Tests.Flow;

public class DurationBucketsTests
{
    [Fact]
    public void Each_duration_falls_in_the_bucket_whose_bounds_hold_it()
    {
        Assert.Equal(0, DurationBuckets.Of(0));
        Assert.Equal(0, DurationBuckets.Of(0.999));
        Assert.Equal(1, DurationBuckets.Of(1));
        Assert.Equal(DurationBuckets.Count - 1, DurationBuckets.Of(TimeSpan.FromDays(400).TotalMilliseconds));
        var random = new Random(7);
        for (var i = 0; i < 10_000; i++)
        {
            var ms = Math.Pow(10, random.NextDouble() * 9);
            var bucket = DurationBuckets.Of(ms);
            Assert.InRange(ms, DurationBuckets.LowerMs(bucket), DurationBuckets.UpperMs(bucket));
            Assert.InRange(DurationBuckets.UpperMs(bucket) / DurationBuckets.LowerMs(bucket), 1.09, 1.091);
        }
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.95)]
    [InlineData(0.99)]
    public void A_percentile_from_the_counts_is_less_than_nine_percent_off_the_exact_one(double q)
    {
        var random = new Random(11);
        // Log-normal around 2 s, as step durations are: most quick, a long tail.
        var durations = Enumerable.Range(0, 5_000)
            .Select(_ => Math.Exp(Math.Log(2_000) + (Normal(random) * 1.2)))
            .Order()
            .ToArray();
        var counts = new long[DurationBuckets.Count];
        foreach (var d in durations)
        {
            counts[DurationBuckets.Of(d)]++;
        }

        var exact = durations[(int)Math.Ceiling(q * durations.Length) - 1];
        var estimate = DurationBuckets.Percentile(counts, q)!.Value;

        Assert.InRange(estimate / exact, 0.91, 1.09);
    }

    [Fact]
    public void Counts_of_different_minutes_added_bucket_by_bucket_give_the_percentiles_of_all_of_them()
    {
        int[] first = new int[DurationBuckets.Count], second = new int[DurationBuckets.Count];
        var all = new long[DurationBuckets.Count];
        foreach (var ms in new[] { 10.0, 20, 30 })
        {
            first[DurationBuckets.Of(ms)]++;
            all[DurationBuckets.Of(ms)]++;
        }

        foreach (var ms in new[] { 1_000.0, 2_000, 3_000, 4_000 })
        {
            second[DurationBuckets.Of(ms)]++;
            all[DurationBuckets.Of(ms)]++;
        }

        var sum = new long[DurationBuckets.Count];
        DurationBuckets.AddTo(sum, first);
        DurationBuckets.AddTo(sum, second);

        Assert.Equal(all, sum);
        // Median of 7: the 4th, 1,000 ms; p95: the largest, 4,000 ms.
        Assert.InRange(DurationBuckets.Percentile(sum, 0.5)!.Value, 1_000 / 1.09, 1_000 * 1.09);
        Assert.InRange(DurationBuckets.Percentile(sum, 0.95)!.Value, 4_000 / 1.09, 4_000 * 1.09);
    }

    [Fact]
    public void Nothing_counted_has_no_percentile()
    {
        Assert.Null(DurationBuckets.Percentile(new long[DurationBuckets.Count], 0.5));
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
