using Confluent.Kafka;
using Microsoft.Playwright;
using OrderFlow.Domain.Events;
using OrderFlow.Testing;

namespace OrderFlow.BrowserTests;

/// <summary>The lag page against the real simulator: a service that stops consuming shows as growing lag and orders waiting at its step.</summary>
public sealed class LagImpactTests(ConsoleFixture console) : IClassFixture<ConsoleFixture>
{
    [Fact]
    public async Task A_stalled_stock_service_makes_its_lag_and_the_orders_waiting_at_its_step_grow_on_the_open_lag_page()
    {
        var prefix = "STALL-" + Guid.NewGuid().ToString("N")[..6];
        using var producer = console.Kafka.CreateProducer();
        var page = await console.NewPageAsync(user: "lead");
        await console.OpenAsync(page, "/lag");
        var group = page.Locator("[data-testid=lag-group][data-group=stock-service]");
        var lag = group.GetByTestId("lag-group-lag");

        // The stock service runs and commits what it read: one order on each partition, so every partition has its offset.
        await using (var running = Simulator())
        {
            for (var partition = 0; partition < 6; partition++)
            {
                var e = Events.StepAt($"{prefix}-0{partition}", "order-placed", DateTimeOffset.UtcNow);
                await producer.ProduceAsync(new TopicPartition(KafkaBroker.OperationalTopic, partition), Events.ToMessage(e));
            }

            await Assertions.Expect(lag).ToHaveTextAsync("0 behind", new() { Timeout = 60_000 });
        }

        // Then it is down (Simulator__StockStalled): the other services still react, the stock service reads nothing.
        await using var stalled = Simulator(("Simulator__StockStalled", "true"));
        await Eventually.UntilAsync(() => Task.FromResult(stalled.Output), o => o.Contains("stock-service is stalled", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "the simulator to start stalled");
        await producer.PublishAsync(Enumerable.Range(1, 4).Select(i => Events.StepAt($"{prefix}-{i}", "order-placed", DateTimeOffset.UtcNow)));
        await Eventually.UntilAsync(() => NumberAsync(lag), n => n >= 4, TimeSpan.FromSeconds(60), "the stock service's lag to count the new orders");
        var waiting = await Eventually.UntilAsync(() => WaitingAsync(group), n => n >= 4, TimeSpan.FromSeconds(30), "the impact to count the orders waiting at stock-reserved");
        await Assertions.Expect(group.GetByTestId("lag-impact")).ToContainTextAsync("waiting at stock-reserved");
        var before = await NumberAsync(lag);

        await producer.PublishAsync(Enumerable.Range(5, 3).Select(i => Events.StepAt($"{prefix}-{i}", "order-placed", DateTimeOffset.UtcNow)));
        await Eventually.UntilAsync(() => NumberAsync(lag), n => n >= before + 3, TimeSpan.FromSeconds(60), "the lag to grow on the open page");
        await Eventually.UntilAsync(() => WaitingAsync(group), n => n >= waiting + 3, TimeSpan.FromSeconds(60), "the orders waiting at stock-reserved to grow on the open page");

        // Only the stock service is down: the payment service catches up, the stock service's lag stays.
        var payment = page.Locator("[data-testid=lag-group][data-group=payment-service]").GetByTestId("lag-group-lag");
        await Assertions.Expect(payment).ToHaveTextAsync("0 behind", new() { Timeout = 90_000 });
        Assert.True(await NumberAsync(lag) >= before + 3, "the stalled stock service's lag stays while the payment service drains");
        await ConsoleFixture.ScreenshotAsync(page, "lag-stalled-stock-service");
    }

    private AppProcess Simulator(params (string Key, string Value)[] settings)
    {
        var environment = new Dictionary<string, string>
        {
            ["Kafka__BootstrapServers"] = console.Kafka.BootstrapServers,
            ["Simulator__OrdersPerSecond"] = "0",
            ["Simulator__PoisonRate"] = "0",
            ["Simulator__PaymentFailureRate"] = "0",
            ["Simulator__ShippingDelay"] = "00:00:00",
            ["Simulator__ConsumeFrom"] = "Earliest",
        };
        foreach (var (key, value) in settings)
        {
            environment[key] = value;
        }

        return AppProcess.Start("tools/Simulator", "Console.Simulator", environment);
    }

    private static async Task<long> NumberAsync(ILocator lag) =>
        long.Parse((await lag.TextContentAsync())!.Split(' ')[0].Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The leading number of the impact line ("7 waiting at stock-reserved; …").</summary>
    private static async Task<long> WaitingAsync(ILocator group)
    {
        var text = (await group.GetByTestId("lag-impact").TextContentAsync())!.Trim();
        return long.TryParse(text.Split(' ')[0].Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : 0;
    }
}
