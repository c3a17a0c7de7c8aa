using OrderFlow.Domain.Lag;

namespace OrderFlow.Web.Lag;

/// <summary>The impact estimate in words, for the lag page and its tests.</summary>
public static class LagImpactText
{
    public static string Summary(LagImpact? impact, string? step)
    {
        if (impact is null || step is null)
        {
            return "no step mapped to this group";
        }

        if (impact.Waiting == 0)
        {
            return $"no order waiting at {step}";
        }

        if (impact.AlreadyBreached >= impact.Waiting)
        {
            return $"{impact.Waiting:N0} waiting at {step}, all already breached";
        }

        var breach = impact.BreachWithinHorizon == 0
            ? $"{(impact.AlreadyBreached > 0 ? "none of the others" : "none")} will breach in the next {(int)impact.Horizon.TotalMinutes} min at the current drain rate"
            : $"{impact.BreachWithinHorizon:N0} will breach in the next {(int)impact.Horizon.TotalMinutes} min at the current drain rate";
        var already = impact.AlreadyBreached > 0 ? $" ({impact.AlreadyBreached:N0} already breached)" : "";
        return $"{impact.Waiting:N0} waiting at {step}{already}; {breach}";
    }

    /// <summary>How long the group's lag takes to drain: from the impact estimate, or for a group without a mapped step from its drain rate.</summary>
    public static string Drain(LagImpact? impact, long lag, double drainPerSecond) => impact?.TimeToDrain switch
    {
        _ when lag == 0 => "caught up",
        null when impact is not null || drainPerSecond <= 0 => "not draining",
        { } t => "drains in " + Freshness.FreshnessView.Duration(t),
        null => "drains in " + Freshness.FreshnessView.Duration(TimeSpan.FromSeconds(Math.Ceiling(lag / drainPerSecond))),
    };

    public static bool IsBad(LagImpact? impact) => impact is { BreachWithinHorizon: > 0 };
}
