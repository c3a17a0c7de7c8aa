using OrderFlow.Simulator;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddOptions<SimulatorOptions>()
    .Bind(builder.Configuration.GetSection("Simulator"))
    .Configure(o => o.BootstrapServers = builder.Configuration["Kafka:BootstrapServers"] ?? o.BootstrapServers)
    .ValidateDataAnnotations()
    .ValidateOnStart();
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<EventPublisher>();
builder.Services.AddHostedService<OrderService>();
builder.Services.AddHostedService<PaymentService>();
builder.Services.AddHostedService<StockService>();
builder.Services.AddHostedService<ShippingService>();
builder.Services.AddHostedService<CompletionService>();
try
{
    await builder.Build().RunAsync();
    return 0;
}
catch (Microsoft.Extensions.Options.OptionsValidationException ex)
{
    Console.Error.WriteLine($"Console.Simulator cannot start: {string.Join("; ", ex.Failures)}");
    return 2;
}
