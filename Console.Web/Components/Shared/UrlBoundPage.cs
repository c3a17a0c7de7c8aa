using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Routing;

namespace OrderFlow.Web.Components.Shared;

/// <summary>
/// A page whose filters, sort and selection live in its URL's query string. Blazor does not pass a query-only navigation
/// to a page without parameters, so the page listens for it and reads the URL again.
/// </summary>
public abstract class UrlBoundPage : ComponentBase, IDisposable
{
    [Inject]
    protected NavigationManager Navigation { get; set; } = null!;

    /// <summary>Reads the page's state from <see cref="NavigationManager.Uri"/> and loads what it needs.</summary>
    protected abstract Task LoadFromUrlAsync();

    private string _path = "";

    protected override void OnInitialized()
    {
        _path = new Uri(Navigation.Uri).AbsolutePath;
        Navigation.LocationChanged += OnLocationChanged;
    }

    protected override Task OnParametersSetAsync() => LoadFromUrlAsync();

    private void OnLocationChanged(object? sender, LocationChangedEventArgs e) => _ = new Uri(e.Location).AbsolutePath != _path ? Task.CompletedTask : InvokeAsync(async () =>
    {
        await LoadFromUrlAsync();
        StateHasChanged();
    });

    public virtual void Dispose()
    {
        Navigation.LocationChanged -= OnLocationChanged;
        GC.SuppressFinalize(this);
    }
}
