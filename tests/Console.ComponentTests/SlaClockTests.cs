using OrderFlow.Domain.Sla;
using OrderFlow.Web.Components.Shared;

namespace OrderFlow.ComponentTests;

public sealed class SlaClockTests : ComponentTest
{
    [Fact]
    public void The_clock_ticks_from_time_left_through_at_risk_to_time_over()
    {
        // 30 s allowance from T0, at-risk after 80 % (24 s).
        var clock = new SlaClock("payment-authorized", T0, T0.AddSeconds(30));
        Clock.SetUtcNow(T0.AddSeconds(10));

        var cut = Render<SlaClockView>(p => p.Add(c => c.Clock, clock).Add(c => c.AtRiskShare, 0.8));

        Assert.Equal("20 s left", cut.Find("[data-testid=sla-clock-time]").TextContent);
        Assert.Equal("on-track", cut.Find("[data-testid=sla-clock]").GetAttribute("data-state"));

        Clock.Advance(TimeSpan.FromSeconds(1));
        cut.WaitForAssertion(() => Assert.Equal("19 s left", cut.Find("[data-testid=sla-clock-time]").TextContent));

        Clock.Advance(TimeSpan.FromSeconds(15));
        cut.WaitForAssertion(() => Assert.Equal("at-risk", cut.Find("[data-testid=sla-clock]").GetAttribute("data-state")));
        Assert.Equal("4 s left", cut.Find("[data-testid=sla-clock-time]").TextContent);

        Clock.Advance(TimeSpan.FromSeconds(9));
        cut.WaitForAssertion(() => Assert.Equal("breached", cut.Find("[data-testid=sla-clock]").GetAttribute("data-state")));
        Assert.Equal("5 s over", cut.Find("[data-testid=sla-clock-time]").TextContent);

        Clock.Advance(TimeSpan.FromMinutes(2));
        cut.WaitForAssertion(() => Assert.Equal("2 min 05 s over", cut.Find("[data-testid=sla-clock-time]").TextContent));
    }

    [Fact]
    public void An_end_to_end_clock_is_named_so()
    {
        var cut = Render<SlaClockView>(p => p.Add(c => c.Clock, new SlaClock(SlaClock.EndToEnd, T0, T0.AddMinutes(3))));

        Assert.Contains("end-to-end", cut.Find(".sla-clock-scope").TextContent);
        Assert.Equal("3 min 00 s left", cut.Find("[data-testid=sla-clock-time]").TextContent);
    }
}
