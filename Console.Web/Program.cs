using OrderFlow.Platform.Hosting;
using OrderFlow.Web;

return await StartupGuard.RunAsync("Console.Web", () =>
{
    var builder = WebApplication.CreateBuilder(args);
    builder.AddWebServices();
    var app = builder.Build();
    app.MapWebEndpoints();
    return app;
});

/// <summary>Entry point type, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
