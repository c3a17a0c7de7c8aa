namespace OrderFlow.Domain.Flow;

/// <summary>Counts kept per minute, summed over a trailing window that starts inside a minute (decision 0026).</summary>
public static class MinuteWindow
{
    /// <summary>
    /// What the minutes counted in (now − window, now]: the minute under way wholly (all its counts happened before now),
    /// whole minutes inside the window, and of the minute the window starts in the share of it the window covers (its
    /// counts taken as spread evenly over it).
    /// </summary>
    public static double Sum(IEnumerable<(DateTimeOffset Minute, long Count)> minutes, DateTimeOffset now, TimeSpan window)
    {
        var start = now - window;
        double sum = 0;
        foreach (var (minute, count) in minutes)
        {
            var end = minute.AddMinutes(1);
            if (minute > now || end <= start)
            {
                continue;
            }

            sum += minute >= start ? count : count * ((end - start) / TimeSpan.FromMinutes(1));
        }

        return sum;
    }
}
