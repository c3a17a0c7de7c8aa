using MudBlazor;

namespace OrderFlow.Web.Components.Layout;

/// <summary>The console's colours: MudBlazor's defaults with state colours that read the same in light and dark.</summary>
public static class ConsoleTheme
{
    public static MudTheme Theme { get; } = new()
    {
        PaletteLight = new PaletteLight
        {
            Primary = "#1e4fa3",
            AppbarBackground = "#1e3a6e",
            Success = "#2e7d32",
            Warning = "#c25e00",
            Error = "#c62828",
        },
        PaletteDark = new PaletteDark
        {
            Primary = "#7aa7ff",
            Success = "#66bb6a",
            Warning = "#ffa726",
            Error = "#ef5350",
        },
    };
}
