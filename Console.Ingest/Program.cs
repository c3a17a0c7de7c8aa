using OrderFlow.Ingest;
using OrderFlow.Platform.Hosting;

return await StartupGuard.RunAsync("Console.Ingest", () =>
{
    var builder = WebApplication.CreateBuilder(args);
    builder.AddIngestServices();
    var app = builder.Build();
    app.MapPlatformHealth();
    return app;
});
