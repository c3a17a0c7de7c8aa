using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using MudBlazor.Services;

namespace OrderFlow.ComponentTests;

/// <summary>A bUnit context with MudBlazor's services and a fake clock the test moves.</summary>
public abstract class ComponentTest : BunitContext, IAsyncLifetime
{
    public static readonly DateTimeOffset T0 = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    protected ComponentTest()
    {
        Clock = new FakeTimeProvider(T0);
        Services.AddSingleton<TimeProvider>(Clock);
        Services.AddMudServices();
        JSInterop.Mode = JSRuntimeMode.Loose;
    }

    protected FakeTimeProvider Clock { get; }

    public Task InitializeAsync() => Task.CompletedTask;

    // MudBlazor's services are only asynchronously disposable.
    Task IAsyncLifetime.DisposeAsync() => DisposeAsync().AsTask();
}
