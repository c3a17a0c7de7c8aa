using OrderFlow.Simulator;
using OrderFlow.Simulator.Services;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddOptions<SimulatorOptions>()
    .Bind(builder.Configuration.GetSection("Simulator"))
    .Configure(o =>
    {
        // The console's Kafka section names the cluster and the topics; the simulator follows it where it is set.
        var kafka = builder.Configuration.GetSection("Kafka");
        o.BootstrapServers = kafka["BootstrapServers"] ?? o.BootstrapServers;
        o.OperationalTopic = kafka["OperationalTopic"] ?? o.OperationalTopic;
        o.ControlTopic = kafka["ControlTopic"] ?? o.ControlTopic;
        o.RetryTopic = kafka["RetryTopic"] ?? o.RetryTopic;
    })
    .ValidateOnStart();
builder.Services.AddSingleton<IValidateOptions<SimulatorOptions>, SimulatorOptionsValidator>();
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<EventPublisher>();
builder.Services.AddSingleton<PaymentService>();
builder.Services.AddSingleton<OrderService>();
builder.Services.AddHostedService<OrderPlacement>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<OrderService>());
builder.Services.AddHostedService(sp => sp.GetRequiredService<PaymentService>());
builder.Services.AddHostedService<StockService>();
builder.Services.AddHostedService<ShippingService>();
builder.Services.AddHostedService<ControlService>();

var host = builder.Build();
try
{
    // Settings first, so a wrong one is named in one line before anything connects.
    host.Services.GetService<IStartupValidator>()?.Validate();
}
catch (OptionsValidationException ex)
{
    return Fail(string.Join("; ", ex.Failures));
}
catch (InvalidOperationException ex) when (ex.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal))
{
    return Fail(ex.Message);
}

await host.RunAsync();
return 0;

static int Fail(string reason)
{
    Console.Error.WriteLine($"Console.Simulator cannot start: {reason}");
    return 2;
}
