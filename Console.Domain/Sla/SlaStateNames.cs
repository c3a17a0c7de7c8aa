namespace OrderFlow.Domain.Sla;

/// <summary>
/// An order's SLA state as the read model, the JSON API and the screens name it. The read model stores on-track, at-risk
/// (as of the last event) or breached (orders.sla_state); readers also count at-risk once sla_at_risk_at has passed
/// (decision 0011).
/// </summary>
public static class SlaStateNames
{
    public const string OnTrack = "on-track";
    public const string AtRisk = "at-risk";
    public const string Breached = "breached";

    private static readonly WireNames<SlaState> Names = new((SlaState.OnTrack, OnTrack), (SlaState.AtRisk, AtRisk), (SlaState.Breached, Breached));

    /// <summary>Every state, from best to worst.</summary>
    public static IReadOnlyList<string> All => Names.All;

    public static string ToName(this SlaState state) => Names.Of(state);

    public static SlaState? Parse(string? name) => Names.Parse(name);
}
