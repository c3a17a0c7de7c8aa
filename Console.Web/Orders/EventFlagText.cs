namespace OrderFlow.Web.Orders;

/// <summary>A one-line explanation of each event flag (names as in docs/events.md), shown beside its badge.</summary>
public static class EventFlagText
{
    public static string Explain(string flag) => flag switch
    {
        "duplicate" => "Same event id seen before for this order: stored, not applied again.",
        "late" => "Happened before an event already applied: it arrived out of order.",
        "after-terminal" => "Happened after the order had ended: kept for reference, not applied.",
        "unknown-step" => "The step is not in the workflow.",
        "repeated" => "The step had already succeeded once.",
        "skipped-dependencies" => "Ran before the steps it depends on had succeeded.",
        "nothing-to-compensate" => "Compensates a step that had not succeeded: nothing to undo.",
        _ => "A flag this console does not know.",
    };

    public static string Label(string flag) => flag switch
    {
        "skipped-dependencies" => "skipped dependency",
        _ => flag.Replace('-', ' '),
    };
}
