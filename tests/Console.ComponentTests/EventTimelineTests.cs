using System.Text.Json;
using OrderFlow.Web.Orders;

namespace OrderFlow.ComponentTests;

public sealed class EventTimelineTests : ComponentTest
{
    private const string Hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>";

    [Fact]
    public void Each_flag_is_a_badge_with_a_one_line_explanation()
    {
        var flags = new[] { "duplicate", "late", "after-terminal", "repeated", "skipped-dependencies" };
        var events = flags.Select((f, i) => Event(i, "stock-reserved", [f])).ToList();

        var cut = Render<EventTimeline>(p => p.Add(t => t.Events, events));

        var badges = cut.FindAll("[data-testid=event-flag]");
        Assert.Equal(flags, badges.Select(b => b.GetAttribute("data-flag") ?? "").ToArray());
        Assert.Equal("skipped dependency", cut.Find("[data-flag=skipped-dependencies]").TextContent.Trim());
        var explanations = cut.FindAll("[data-testid=flag-explanation]").Select(e => e.TextContent).ToList();
        Assert.Equal(flags.Length, explanations.Count);
        Assert.Contains(explanations, e => e.Contains("duplicate", StringComparison.Ordinal) && e.Contains("not applied again", StringComparison.Ordinal));
        Assert.Contains(explanations, e => e.Contains("arrived out of order", StringComparison.Ordinal));
        Assert.Contains(explanations, e => e.Contains("after the order had ended", StringComparison.Ordinal));
        Assert.All(explanations, e => Assert.DoesNotContain("does not know", e, StringComparison.Ordinal));
    }

    [Fact]
    public void Hostile_reasons_and_attributes_are_shown_as_text_and_the_attributes_as_pretty_json()
    {
        var e = Event(1, "payment-authorized", [], reason: Hostile, attributes: $$"""{"note":{{JsonSerializer.Serialize(Hostile)}},"attempt":2}""");

        var cut = Render<EventTimeline>(p => p.Add(t => t.Events, [e]).Add(t => t.Selected, e.EventId));

        Assert.Empty(cut.FindAll("img"));
        Assert.Empty(cut.FindAll("script"));
        Assert.Contains(Hostile, cut.Find(".timeline-reason").TextContent, StringComparison.Ordinal);
        var json = cut.Find("[data-testid=event-attributes]").TextContent;
        Assert.Contains("\n  \"attempt\": 2", json, StringComparison.Ordinal);
        Assert.Contains(Hostile, json, StringComparison.Ordinal);
    }

    [Fact]
    public void Details_open_for_the_selected_event_only_and_report_the_choice()
    {
        var first = Event(1, "order-placed", []);
        var second = Event(2, "stock-reserved", []);
        Guid? chosen = null;
        var cut = Render<EventTimeline>(p => p.Add(t => t.Events, [first, second]).Add(t => t.SelectedChanged, id => chosen = id));

        Assert.Empty(cut.FindAll("[data-testid=event-details]"));
        cut.FindAll("[data-testid=event-details-toggle]")[1].Click();

        Assert.Equal(second.EventId, chosen);
    }

    private static OrderEventView Event(int i, string step, string[] flags, string? reason = null, string attributes = "{}") => new(
        i, Guid.NewGuid(), step, "svc", reason is null ? "succeeded" : "failed", reason, T0.AddSeconds(i), T0.AddSeconds(i + 1),
        "order-ops", 2, 100 + i, flags, "trace-1", JsonDocument.Parse(attributes).RootElement);
}
