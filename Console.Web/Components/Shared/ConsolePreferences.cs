namespace OrderFlow.Web.Components.Shared;

/// <summary>A person's display choices, kept in cookies so the first paint already has them (no flash of the wrong theme).</summary>
public sealed record ConsolePreferences(bool Dark, bool Utc, string? TimeZone)
{
    public const string DarkCookie = "console-theme";
    public const string UtcCookie = "console-times";
    public const string TimeZoneCookie = "console-tz";

    public static ConsolePreferences FromCookies(IRequestCookieCollection? cookies) => new(
        cookies?[DarkCookie] == "dark",
        cookies?[UtcCookie] != "local",
        cookies?[TimeZoneCookie]);

    /// <summary>The zone times are shown in: UTC, or the browser's zone when known.</summary>
    public TimeZoneInfo Zone => !Utc && TimeZone is { Length: > 0 } id && TryFind(id) is { } zone ? zone : TimeZoneInfo.Utc;

    public string ZoneLabel => Zone == TimeZoneInfo.Utc ? "UTC" : Zone.Id;

    public string Absolute(DateTimeOffset at) =>
        TimeZoneInfo.ConvertTime(at, Zone).ToString("yyyy-MM-dd HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture) + " " + ZoneLabel;

    private static TimeZoneInfo? TryFind(string id)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return null;
        }
    }
}

/// <summary>Changes the preferences (cascaded by Routes, used by the layout's toggles).</summary>
public sealed class PreferencesChanger(Func<ConsolePreferences, Task> change)
{
    public Task ChangeAsync(ConsolePreferences preferences) => change(preferences);
}
