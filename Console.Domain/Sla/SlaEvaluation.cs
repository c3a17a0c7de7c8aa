using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Workflow;

namespace OrderFlow.Domain.Sla;

public enum SlaState
{
    OnTrack,
    AtRisk,
    Breached,
}

/// <summary>One running clock of an order: a step it waits for, or the whole order ("end-to-end").</summary>
public sealed record SlaClock(string Scope, DateTimeOffset StartedAt, DateTimeOffset DueAt)
{
    public const string EndToEnd = "end-to-end";

    /// <summary>When the clock turns at-risk: after the given share of its allowance has gone.</summary>
    public DateTimeOffset AtRiskAt(double atRiskShare) => StartedAt + ((DueAt - StartedAt) * atRiskShare);

    public SlaState StateAt(DateTimeOffset now, double atRiskShare) =>
        now >= DueAt ? SlaState.Breached : now >= AtRiskAt(atRiskShare) ? SlaState.AtRisk : SlaState.OnTrack;

    public TimeSpan Remaining(DateTimeOffset now) => DueAt - now;
}

/// <summary>Per-step and end-to-end SLA clocks of an order, from its folded state and the workflow.</summary>
public static class SlaEvaluation
{
    public static IReadOnlyList<SlaClock> Clocks(OrderState order, WorkflowDefinition workflow) =>
        Clocks(order, workflow, order.Positions(workflow));

    /// <summary>The clocks for positions the caller already has (<see cref="OrderState.Positions"/> of the same state).</summary>
    public static IReadOnlyList<SlaClock> Clocks(OrderState order, WorkflowDefinition workflow, IReadOnlyList<string> positions)
    {
        if (order.IsTerminal)
        {
            return [];
        }

        var clocks = new List<SlaClock>(positions.Count + 1);
        foreach (var step in positions)
        {
            if (workflow.Find(step) is { } definition && order.ReadySince(definition) is { } since)
            {
                clocks.Add(new SlaClock(step, since, since + definition.Sla));
            }
        }

        var start = order.PlacedAt ?? order.FirstEventAt;
        clocks.Add(new SlaClock(SlaClock.EndToEnd, start, start + workflow.EndToEndSla));
        return clocks;
    }

    /// <summary>
    /// What the read model keeps of an order's clocks as an event moves it on: at-risk or on-track now (never breached:
    /// the SLA watcher declares breaches, so each one is recorded, and expired, exactly once), the earliest deadline, and
    /// when the first clock turns at-risk (readers compare that with the time they read: decision 0011).
    /// </summary>
    public static SlaSummary Summarize(OrderState order, WorkflowDefinition workflow, IReadOnlyList<string> positions, DateTimeOffset now, double atRiskShare)
    {
        // Loops, not queries: the projection asks this of every order of every batch.
        var atRisk = false;
        SlaClock? next = null;
        DateTimeOffset? atRiskAt = null;
        foreach (var clock in Clocks(order, workflow, positions))
        {
            atRisk |= clock.StateAt(now, atRiskShare) >= SlaState.AtRisk;
            next = next is null || clock.DueAt < next.DueAt ? clock : next;
            var turns = clock.AtRiskAt(atRiskShare);
            atRiskAt = atRiskAt is null || turns < atRiskAt ? turns : atRiskAt;
        }

        return new SlaSummary(atRisk ? SlaState.AtRisk : SlaState.OnTrack, next, atRiskAt);
    }

    /// <summary>The worst state over all clocks of the order now.</summary>
    public static SlaState StateAt(OrderState order, WorkflowDefinition workflow, DateTimeOffset now, double atRiskShare) =>
        Clocks(order, workflow).Select(c => c.StateAt(now, atRiskShare)).DefaultIfEmpty(SlaState.OnTrack).Max();

    /// <summary>The earliest deadline of the order (what the SLA watcher indexes), or null when it no longer runs.</summary>
    public static SlaClock? NextDue(OrderState order, WorkflowDefinition workflow) =>
        Clocks(order, workflow).OrderBy(c => c.DueAt).FirstOrDefault();

    /// <summary>
    /// The clocks whose deadline has come by now (each one a breach), and the earliest clock still running after them:
    /// the deadline the SLA watcher waits for next, null when every clock has breached.
    /// </summary>
    public static SlaDue DueBy(OrderState order, WorkflowDefinition workflow, DateTimeOffset now)
    {
        var clocks = Clocks(order, workflow);
        return new SlaDue(
            clocks.Where(c => c.DueAt <= now).OrderBy(c => c.DueAt).ToList(),
            clocks.Where(c => c.DueAt > now).OrderBy(c => c.DueAt).FirstOrDefault());
    }
}

/// <summary>An order's clocks as the read model keeps them (orders.sla_state, sla_scope, sla_at_risk_at, sla_due_at).</summary>
public readonly record struct SlaSummary(SlaState State, SlaClock? Next, DateTimeOffset? AtRiskAt);

/// <summary>What an order's clocks say at one moment: those breached by then, and the next one to come due.</summary>
public sealed record SlaDue(IReadOnlyList<SlaClock> Breached, SlaClock? Next);
