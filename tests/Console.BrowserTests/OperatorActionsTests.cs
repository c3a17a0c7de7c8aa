using System.Text;
using Confluent.Kafka;
using Microsoft.Playwright;
using OrderFlow.Testing;

namespace OrderFlow.BrowserTests;

/// <summary>Operator actions in a real browser: signed in, role-checked, delivered through Console.Ingest to the real broker protocol.</summary>
public sealed class OperatorActionsTests(ConsoleFixture console) : IClassFixture<ConsoleFixture>
{
    private static readonly LocatorAssertionsToBeVisibleOptions Visible = new() { Timeout = 30_000 };
    private static readonly LocatorAssertionsToContainTextOptions Contains = new() { Timeout = 30_000 };

    [Fact]
    public async Task A_support_agent_replays_a_stuck_orders_dead_letter_and_sees_the_order_move_on_and_the_replay_recover()
    {
        var orderId = "ORD-REPLAY-" + Guid.NewGuid().ToString("N")[..6];
        using var producer = console.Kafka.CreateProducer();
        await producer.PublishAsync([Events.Step(orderId, "order-placed", 0), Events.Step(orderId, "stock-reserved", 1)]);
        byte[] value = Encoding.UTF8.GetBytes($$"""{"orderId":"{{orderId}}","step":"order-placed"}""");
        await producer.ProduceAsync("payments-dlq", new Message<string, byte[]>
        {
            Key = orderId,
            Value = value,
            Headers = [new Confluent.Kafka.Header("dlq-error-reason", "provider timeout"u8.ToArray()), new Confluent.Kafka.Header("dlq-service", "payment-service"u8.ToArray()), new Confluent.Kafka.Header("dlq-original-topic", "order-ops"u8.ToArray())],
        });

        var page = await console.NewPageAsync(user: "agent");
        await console.OpenAsync(page, "/orders/" + orderId);
        await Assertions.Expect(page.GetByTestId("signed-in-user")).ToContainTextAsync("agent (SupportAgent)");
        await Assertions.Expect(page.GetByTestId("order-dead-letter-link")).ToBeVisibleAsync(Visible);
        await ConsoleFixture.ScreenshotAsync(page, "order-actions-support-agent");
        await page.GetByTestId("order-dead-letter-link").First.ClickAsync();
        await Assertions.Expect(page.GetByTestId("dead-letter-reason")).ToBeVisibleAsync(Visible);
        await page.Locator("textarea[data-testid=action-reason], [data-testid=action-reason] textarea").First.FillAsync("Payment provider fixed the timeouts");
        await page.GetByTestId("action-replay").ClickAsync();
        await page.GetByTestId("action-outcome").WaitForAsync();
        await ConsoleFixture.ScreenshotAsync(page, "dead-letter-replay-outcome");

        await Assertions.Expect(page.GetByTestId("action-outcome")).ToContainTextAsync("accepted", Contains);
        await Assertions.Expect(page.GetByTestId("action-history-state").First).ToContainTextAsync("delivered", Contains);
        await ConsoleFixture.ScreenshotAsync(page, "dead-letter-replayed");

        // The payment service (played by the test) reads its retry topic and authorizes the payment.
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig { BootstrapServers = console.Kafka.BootstrapServers, GroupId = "payment-" + orderId, AutoOffsetReset = AutoOffsetReset.Earliest }).Build();
        consumer.Subscribe("order-retry");
        ConsumeResult<string, byte[]>? replayed = null;
        for (var deadline = DateTime.UtcNow.AddSeconds(30); replayed is null && DateTime.UtcNow < deadline;)
        {
            replayed = consumer.Consume(TimeSpan.FromSeconds(1)) is { } r && r.Message.Key == orderId ? r : null;
        }

        Assert.NotNull(replayed);
        Assert.Equal(value, replayed.Message.Value);
        await producer.PublishAsync([Events.Step(orderId, "payment-authorized", 2)]);

        await Assertions.Expect(page.GetByTestId("action-followup").First).ToHaveTextAsync("recovered", new() { Timeout = 30_000 });
        await ConsoleFixture.ScreenshotAsync(page, "dead-letter-replay-recovered");
        await console.OpenAsync(page, "/orders/" + orderId);
        await Assertions.Expect(page.GetByTestId("order-actions")).ToBeVisibleAsync(Visible);
        await console.OpenAsync(page, "/audit");
        await Assertions.Expect(page.GetByTestId("audit-row").First).ToContainTextAsync("order-retry", Contains);
        await ConsoleFixture.ScreenshotAsync(page, "audit");
    }

    [Fact]
    public async Task A_business_user_finds_no_action_enabled_and_is_told_why()
    {
        var orderId = "ORD-BIZ-" + Guid.NewGuid().ToString("N")[..6];
        using var producer = console.Kafka.CreateProducer();
        await producer.PublishAsync([Events.Step(orderId, "order-placed", 0), Events.Step(orderId, "payment-authorized", 1, succeeded: false, reason: "card declined")]);

        var page = await console.NewPageAsync(user: "business");
        await console.OpenAsync(page, "/orders/" + orderId);

        await Assertions.Expect(page.GetByTestId("actions-panel")).ToBeVisibleAsync(Visible);
        foreach (var button in new[] { "action-outreach", "action-expire" })
        {
            await Assertions.Expect(page.GetByTestId(button)).ToBeDisabledAsync();
        }

        await Assertions.Expect(page.GetByTestId("action-disabled-reason").First).ToContainTextAsync("your role BusinessUser may not");
        await ConsoleFixture.ScreenshotAsync(page, "order-actions-business-user");
    }

    [Fact]
    public async Task Signing_in_is_required_and_a_wrong_password_is_refused_visibly()
    {
        var page = await console.NewPageAsync(user: null);
        await page.GotoAsync(console.WebUrl + "/orders");
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/login\\?ReturnUrl="));
        await page.GetByTestId("login-user").FillAsync("agent");
        await page.GetByTestId("login-password").FillAsync("wrong");
        await page.GetByTestId("login-submit").ClickAsync();
        await Assertions.Expect(page.GetByTestId("login-error")).ToBeVisibleAsync();
        await ConsoleFixture.ScreenshotAsync(page, "login-failed");
    }
}
