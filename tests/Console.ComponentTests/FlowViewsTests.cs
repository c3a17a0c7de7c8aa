using OrderFlow.Domain.Lag;
using OrderFlow.Domain.Workflow;
using OrderFlow.Web.Components.Shared;
using OrderFlow.Web.Flow;
using OrderFlow.Web.Lag;
using OrderFlow.Web.Orders;

namespace OrderFlow.ComponentTests;

public sealed class FlowViewsTests : ComponentTest
{
    [Fact]
    public void The_chart_draws_one_svg_path_per_line_and_says_so_when_empty()
    {
        var cut = Render<ConsoleChart>(p => p
            .Add(c => c.TestId, "c")
            .Add(c => c.Labels, ["12:00", "12:01", "12:02"])
            .Add(c => c.Series, [new ConsoleChart.Line("a", [1, 2, 3]), new ConsoleChart.Line("b", [3, 2, 1])]));

        Assert.Equal("2", cut.Find("[data-testid=c]").GetAttribute("data-series"));
        Assert.Equal("3", cut.Find("[data-testid=c]").GetAttribute("data-points"));
        Assert.True(cut.FindAll("svg path").Count >= 2);
        Assert.Empty(cut.FindAll("[data-testid=chart-empty]"));

        var empty = Render<ConsoleChart>(p => p.Add(c => c.Labels, []).Add(c => c.Series, []).Add(c => c.EmptyText, "nothing yet"));
        Assert.Equal("nothing yet", empty.Find("[data-testid=chart-empty]").TextContent);
        Assert.Empty(empty.FindAll("svg"));
    }

    [Fact]
    public void The_chart_labels_at_most_about_twelve_points_and_never_repeats_a_label_beside_itself()
    {
        // Points every 15 s labelled by the minute: each minute once.
        var minutes = Render<ConsoleChart>(p => p
            .Add(c => c.Labels, ["12:00", "12:00", "12:00", "12:01", "12:01", "12:01", "12:01", "12:02"])
            .Add(c => c.Series, [new ConsoleChart.Line("a", [1, 2, 3, 4, 5, 6, 7, 8])]));
        Assert.Equal(["12:00", "12:01", "12:02"], minutes.FindAll("text.chart-x").Select(t => t.TextContent).ToArray());

        // An hour of minutes: every fifth.
        var hour = Enumerable.Range(0, 60).Select(m => $"12:{m:00}").ToList();
        var thinned = Render<ConsoleChart>(p => p.Add(c => c.Labels, hour).Add(c => c.Series, [new ConsoleChart.Line("a", hour.Select(_ => 1.0).ToList())]));
        Assert.Equal(hour.Where((_, i) => i % 5 == 0).ToArray(), thinned.FindAll("text.chart-x").Select(t => t.TextContent).ToArray());
    }

    [Fact]
    public void The_chart_shows_series_names_escaped()
    {
        var cut = Render<ConsoleChart>(p => p
            .Add(c => c.Labels, ["x"])
            .Add(c => c.Series, [new ConsoleChart.Line("<script>alert(1)</script>", [1])]));

        Assert.DoesNotContain("<script>alert(1)</script>", cut.Markup);
        Assert.Contains("&lt;script&gt;", cut.Markup);
    }

    [Fact]
    public void The_flow_view_puts_the_waiting_counts_on_the_graph_and_in_the_table()
    {
        var graph = OrderPath.Build(WorkflowDefinition.Default, [], "", T0, 0.8).Steps;
        var summary = new FlowSummary(T0, 7,
            [new StepLoad("order-placed", 0, 0, 0), new StepLoad("payment-authorized", 5, 1, 2), new StepLoad("stock-reserved", 2, 0, 0)],
            [new StepPace("payment-authorized", 12.4, 300, 850, 4200)],
            [new FlowMinute(T0, 10, 1, 0, 2, 0)], [], 3, 4);

        var cut = Render<FlowView>(p => p.Add(v => v.Summary, summary).Add(v => v.GraphSteps, graph));

        Assert.Equal("7", cut.Find("[data-testid=tile-in-flight] .tile-value").TextContent);
        Assert.Equal("5 waiting", cut.Find("[data-step=payment-authorized] [data-testid=graph-step-detail]").TextContent);
        Assert.Equal("2 breached", cut.Find("[data-step=payment-authorized] [data-testid=graph-step-alert]").TextContent);
        Assert.Equal("none waiting", cut.Find("[data-step=order-placed] [data-testid=graph-step-detail]").TextContent);
        Assert.Empty(cut.FindAll("[data-step=order-placed] [data-testid=graph-step-alert]"));
        // Every node has room for the second line (one line: 54 high).
        Assert.All(cut.FindAll("[data-testid=graph-step] rect"), r => Assert.Equal("71", r.GetAttribute("height")));
        var row = cut.Find("[data-testid=flow-step][data-step=payment-authorized]");
        Assert.Contains("12.4", row.TextContent);
        Assert.Contains("850 ms", row.TextContent);
        Assert.Contains("4.2 s", row.TextContent);
    }

    [Fact]
    public void While_the_last_hour_loads_the_view_shows_the_current_counts_and_says_what_is_still_loading()
    {
        var graph = OrderPath.Build(WorkflowDefinition.Default, [], "", T0, 0.8).Steps;
        var summary = new FlowSummary(T0, 5, [new StepLoad("payment-authorized", 5, 1, 2)], [], [], [], 3, 4, HourPending: true);

        var cut = Render<FlowView>(p => p.Add(v => v.Summary, summary).Add(v => v.GraphSteps, graph));

        Assert.Contains("Loading the last hour's counts", cut.Find("[data-testid=flow-hour-pending]").TextContent);
        Assert.Equal("…", cut.Find("[data-testid=tile-throughput] .tile-value").TextContent);
        var row = cut.Find("[data-testid=flow-step][data-step=payment-authorized]");
        Assert.Equal("5", row.QuerySelector("[data-testid=flow-waiting]")!.TextContent);
        Assert.Equal("…", row.QuerySelector("[data-testid=flow-rate]")!.TextContent);
        Assert.Equal(["Loading the last hour…", "Loading the last hour…"], cut.FindAll("[data-testid=chart-empty]").Skip(1).Select(e => e.TextContent));
    }

    [Fact]
    public void The_hour_charts_have_a_point_for_every_minute_up_to_now_a_quiet_one_at_zero()
    {
        var graph = OrderPath.Build(WorkflowDefinition.Default, [], "", T0, 0.8).Steps;
        // Counts at 12:00 and 12:03 only (the read model keeps minutes with counts); the summary is of 12:05:40.
        FlowMinute[] minutes = [new(T0, 10, 1, 0, 2, 0), new(T0.AddMinutes(3), 30, 0, 1, 0, 0)];
        var summary = new FlowSummary(T0.AddMinutes(5).AddSeconds(40), 0, [], [], minutes, [], 0, 0);

        var cut = Render<FlowView>(p => p.Add(v => v.Summary, summary).Add(v => v.GraphSteps, graph));

        var events = cut.FindComponents<ConsoleChart>().Single(c => c.Instance.TestId == "chart-events").Instance;
        Assert.Equal(["12:00", "12:01", "12:02", "12:03", "12:04", "12:05"], events.Labels);
        Assert.Equal([10, 0, 0, 30, 0, 0], events.Series.Single().Values);
        var problems = cut.FindComponents<ConsoleChart>().Single(c => c.Instance.TestId == "chart-problems").Instance;
        Assert.Equal([0, 0, 0, 1, 0, 0], problems.Series.Single(l => l.Name == "expiries").Values);
    }

    [Fact]
    public void A_loaded_hour_shows_no_loading_notice()
    {
        var graph = OrderPath.Build(WorkflowDefinition.Default, [], "", T0, 0.8).Steps;
        var summary = new FlowSummary(T0, 0, [], [], [], [], 0, 0);

        var cut = Render<FlowView>(p => p.Add(v => v.Summary, summary).Add(v => v.GraphSteps, graph));

        Assert.Empty(cut.FindAll("[data-testid=flow-hour-pending]"));
        Assert.Equal(["No data yet", "No data yet"], cut.FindAll("[data-testid=chart-empty]").Skip(1).Select(e => e.TextContent));
    }

    [Fact]
    public void New_current_numbers_redraw_the_tiles_but_a_chart_only_when_its_own_lines_changed()
    {
        var graph = OrderPath.Build(WorkflowDefinition.Default, [], "", T0, 0.8).Steps;
        InFlightPoint[] history = [new(T0, new Dictionary<string, long> { ["payment-authorized"] = 5 })];
        FlowMinute[] minutes = [new(T0, 10, 1, 0, 2, 0)];
        var first = new FlowSummary(T0, 5, [new StepLoad("payment-authorized", 5, 1, 2)], [], minutes, history, 3, 4);
        var cut = Render<FlowView>(p => p.Add(v => v.Summary, first).Add(v => v.GraphSteps, graph));
        var charts = cut.FindComponents<ConsoleChart>().ToDictionary(c => c.Instance.TestId!);
        var drawn = charts.ToDictionary(c => c.Key, c => c.Value.RenderCount);

        // Under load: a change of the current numbers only (same history and hour, as FlowQueries hands them out).
        cut.Render(p => p.Add(v => v.Summary, first with { Quarantined = 5, InFlight = 6 }));

        Assert.Equal("5", cut.Find("[data-testid=tile-quarantined] .tile-value").TextContent);
        Assert.Equal(drawn, charts.ToDictionary(c => c.Key, c => c.Value.RenderCount));

        // A new point of the in-flight history: that chart is drawn again, with it; the hour's charts are not.
        InFlightPoint[] longer = [.. history, new(T0.AddSeconds(15), new Dictionary<string, long> { ["payment-authorized"] = 9 })];
        cut.Render(p => p.Add(v => v.Summary, first with { InFlightHistory = longer }));

        Assert.Equal(drawn["chart-in-flight"] + 1, charts["chart-in-flight"].RenderCount);
        Assert.Equal("2", cut.Find("[data-testid=chart-in-flight]").GetAttribute("data-points"));
        Assert.Equal(drawn["chart-events"], charts["chart-events"].RenderCount);
        Assert.Equal(drawn["chart-problems"], charts["chart-problems"].RenderCount);
    }

    [Fact]
    public void The_lag_view_tells_the_impact_in_words_and_marks_breaches()
    {
        var impact = LagImpactEstimate.Estimate(100, 0, [T0.AddMinutes(-1), T0.AddMinutes(2), T0.AddMinutes(20)], T0, LagImpactEstimate.DefaultHorizon);
        var group = new GroupLag("stock-service", "STOP", 100, 42, [new PartitionLagRow("order-ops", 0, "STOP", 100, 42, "no commit for 31 s while 100 behind", T0)],
            [new LagPoint(T0.AddSeconds(-10), 50), new LagPoint(T0, 100)], 0, "stock-reserved", impact);

        var cut = Render<LagView>(p => p.Add(v => v.Groups, [group]));

        var text = cut.Find("[data-testid=lag-impact]");
        Assert.Equal("3 waiting at stock-reserved (1 already breached); 1 will breach in the next 10 min at the current drain rate",
            text.TextContent.Trim().Split("see them")[0].Trim());
        Assert.Contains("impact-bad", text.GetAttribute("class"));
        Assert.Contains("not draining", cut.Find("[data-testid=lag-group]").TextContent);
        Assert.Contains("no commit for 31 s while 100 behind", cut.Find("[data-testid=lag-partition]").TextContent);
    }

    [Fact]
    public void A_group_without_a_step_or_waiting_orders_says_so()
    {
        Assert.Equal("no step mapped to this group", LagImpactText.Summary(null, null));
        Assert.Equal("1,836 waiting at payment-authorized (1,826 already breached); none of the others will breach in the next 10 min at the current drain rate",
            LagImpactText.Summary(LagImpactEstimate.Estimate(5, 1, 1836, 1826, [], T0, LagImpactEstimate.DefaultHorizon), "payment-authorized"));
        Assert.Equal("16 waiting at order-completed, all already breached",
            LagImpactText.Summary(LagImpactEstimate.Estimate(38, 9, 16, 16, [], T0, LagImpactEstimate.DefaultHorizon), "order-completed"));
        Assert.Equal("4 waiting at shipped; none will breach in the next 10 min at the current drain rate",
            LagImpactText.Summary(LagImpactEstimate.Estimate(0, 0, [T0.AddMinutes(1), T0.AddMinutes(2), T0.AddMinutes(3), T0.AddMinutes(30)], T0, LagImpactEstimate.DefaultHorizon), "shipped"));
        Assert.Equal("no order waiting at shipped", LagImpactText.Summary(LagImpactEstimate.Estimate(0, 0, [], T0, LagImpactEstimate.DefaultHorizon), "shipped"));
        Assert.Equal("caught up", LagImpactText.Drain(null, 0, 0));
        // A group with no step mapped (the console's own) still says when its lag drains, from its drain rate; was "—".
        Assert.Equal("drains in 3 s", LagImpactText.Drain(null, 25, 9.5));
        Assert.Equal("not draining", LagImpactText.Drain(null, 25, 0));
    }
}
