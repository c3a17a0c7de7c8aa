using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using OrderFlow.Web.Flow;
using OrderFlow.Web.Live;

namespace OrderFlow.ComponentTests;

/// <summary>The flow dashboards share one render budget: the fewer open, the sooner each shows a change (decision 0030).</summary>
public sealed class DashboardAudienceTests : ComponentTest
{
    [Theory]
    [InlineData(0, 25)]
    [InlineData(1, 25)]
    [InlineData(50, 25)]
    [InlineData(51, 25.5)]
    [InlineData(200, 100)]
    [InlineData(500, 250)]
    [InlineData(5_000, 250)]
    public void The_gap_grows_with_the_open_dashboards_between_its_bounds(int open, double gapMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(gapMs), DashboardAudience.GapFor(open));

    [Fact]
    public void A_dashboard_counts_until_it_leaves_and_leaving_twice_counts_once()
    {
        var audience = new DashboardAudience();
        var seats = Enumerable.Range(0, 300).Select(_ => audience.Enter()).ToList();
        Assert.Equal(300, audience.Open);
        Assert.Equal(TimeSpan.FromMilliseconds(150), audience.Gap);

        seats[0].Dispose();
        seats[0].Dispose();
        Assert.Equal(299, audience.Open);

        seats.ForEach(s => s.Dispose());
        Assert.Equal(0, audience.Open);
        Assert.Equal(DashboardAudience.MinGap, audience.Gap);
    }

    [Fact]
    public void Under_continuous_change_a_lone_dashboard_shows_the_first_change_at_once_then_waits_only_its_gap()
    {
        var changes = new ReadModelChanges();
        Services.AddSingleton(changes);
        var audience = new DashboardAudience();
        using var seat = audience.Enter();
        var refreshes = 0;
        var cut = Render<LiveRefresh>(p => p
            .Add(r => r.OnChange, EventCallback.Factory.Create(this, () => refreshes++))
            .Add(r => r.Gap, audience.Gap));

        changes.Publish(new ReadModelChange(1, 1, 0));
        cut.WaitForAssertion(() => Assert.Equal(1, refreshes));

        changes.Publish(new ReadModelChange(1, 1, 0));
        changes.Publish(new ReadModelChange(1, 1, 0));
        Clock.Advance(DashboardAudience.MinGap - TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, refreshes);

        Clock.Advance(TimeSpan.FromMilliseconds(1));
        cut.WaitForAssertion(() => Assert.Equal(2, refreshes));
    }
}
