using OrderFlow.Domain.Orders;

namespace OrderFlow.Web.Orders;

/// <summary>A one-line explanation of each event flag (names as in docs/events.md), shown beside its badge.</summary>
public static class EventFlagText
{
    public static string Explain(string flag) => flag switch
    {
        EventFlagNames.Duplicate => "Same event id seen before for this order: stored, not applied again.",
        EventFlagNames.Late => "Happened before an event already applied: it arrived out of order.",
        EventFlagNames.AfterTerminal => "Happened after the order had ended: kept for reference, not applied.",
        EventFlagNames.UnplannedStep => "The step is not in the workflow: shown, counted, but it moves no clock and no status.",
        EventFlagNames.Repeated => "The step had already succeeded once.",
        EventFlagNames.SkippedDependencies => "Ran before the steps it depends on had succeeded.",
        EventFlagNames.NothingToCompensate => "Compensates a step that had not succeeded: nothing to undo.",
        _ => "A flag this console does not know.",
    };

    public static string Label(string flag) => flag switch
    {
        EventFlagNames.SkippedDependencies => "skipped dependency",
        _ => flag.Replace('-', ' '),
    };
}
