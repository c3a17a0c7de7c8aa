namespace OrderFlow.Testing;

/// <summary>Awaits a condition of the system under test (not a fixed sleep): polls until true or fails with what was last seen.</summary>
public static class Eventually
{
    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        T last;
        while (true)
        {
            last = await read();
            if (done(last))
            {
                return last;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0}s waiting for {what}; last value: {last}");
            }

            await Task.Delay(50);
        }
    }
}
