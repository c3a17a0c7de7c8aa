using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Simulator;

/// <summary>A wrong simulator setting ends the real executable at start with one line naming it and exit code 2.</summary>
public sealed class SimulatorStartupTests
{
    [Theory]
    [InlineData("Simulator__OutreachSuccessRate", "1.5", "Console.Simulator cannot start: Simulator:OutreachSuccessRate must be between 0 and 1 (got 1.5)")]
    [InlineData("Simulator__PaymentFailureRate", "-0.1", "Console.Simulator cannot start: Simulator:PaymentFailureRate must be between 0 and 1 (got -0.1)")]
    [InlineData("Simulator__OutreachRetryDelay", "-00:00:01", "Console.Simulator cannot start: Simulator:OutreachRetryDelay must be between 00:00:00 and 01:00:00 (got -00:00:01)")]
    [InlineData("Simulator__RetryTopic", "order-ops", "Console.Simulator cannot start: Simulator:RetryTopic 'order-ops' must differ from the operational and dead-letter topics")]
    [InlineData("Kafka__BootstrapServers", "", "Console.Simulator cannot start: Kafka:BootstrapServers is not set (for example Kafka__BootstrapServers=127.0.0.1:9092)")]
    public async Task An_out_of_range_setting_is_named_in_one_line(string key, string value, string expected)
    {
        var (exitCode, stderr) = await RunAsync(key, value);

        Assert.Equal(2, exitCode);
        Assert.Equal(expected, Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Theory]
    [InlineData("Simulator__OutreachSuccessRate", "abc", "Simulator:OutreachSuccessRate")]
    [InlineData("Simulator__ConsumeFrom", "Middle", "Simulator:ConsumeFrom")]
    public async Task An_unreadable_setting_is_named_in_one_line(string key, string value, string named)
    {
        var (exitCode, stderr) = await RunAsync(key, value);

        Assert.Equal(2, exitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Console.Simulator cannot start: Failed to convert configuration value", line, StringComparison.Ordinal);
        Assert.Contains(named, line, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Stderr)> RunAsync(string key, string value)
    {
        var environment = new Dictionary<string, string> { ["Kafka__BootstrapServers"] = "127.0.0.1:1", [key] = value };
        await using var process = AppProcess.Start("tools/Simulator", "Console.Simulator", environment);
        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exitCode, process.Stderr);
    }
}
