using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.SignalR;
using OrderFlow.Web.Lag;
using OrderFlow.Web.Live;

namespace OrderFlow.Web.Flow;

/// <summary>
/// The wallboard stream: clients connect to <c>/hubs/flow</c> and receive <c>flowSummary</c> (a <see cref="FlowSummary"/>)
/// on connect and after every change of the read model, coalesced like the pages (the first change after a quiet spell
/// at once, then at most one per <see cref="DashboardAudience.Gap"/>). Read-only: clients call nothing.
/// </summary>
public sealed class FlowHub(FlowFeed feed, DashboardAudience audience) : Hub
{
    public const string Path = "/hubs/flow";
    public const string SummaryMessage = "flowSummary";

    public override async Task OnConnectedAsync()
    {
        feed.Connected(+1);
        Context.Items[typeof(DashboardAudience)] = audience.Enter(); // a wallboard client spends the render budget like a page
        if (await feed.LatestAsync() is { } summary)
        {
            await Clients.Caller.SendAsync(SummaryMessage, summary);
        }
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        feed.Connected(-1);
        (Context.Items[typeof(DashboardAudience)] as IDisposable)?.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// Keeps the latest flow summary and lag for the hub and the OpenTelemetry metrics: reads them (through the shared queries
/// the pages use, so no extra query when a page is open) every 15 s, and on each change while hub clients are connected,
/// to whom it pushes the summary.
/// </summary>
public sealed class FlowFeed(
    ReadModelChanges changes, SharedQueries shared, FlowQueries flow, DashboardAudience audience, LagQueries lag, IHubContext<FlowHub> hub, TimeProvider clock,
    ILogger<FlowFeed> logger) : BackgroundService
{
    public const string MeterName = "OrderFlow.Console";

    private readonly SemaphoreSlim _signal = new(0, 1);
    private volatile FlowSummary? _latest;
    private volatile IReadOnlyList<GroupLag> _lag = [];
    private int _clients;

    public FlowSummary? Latest => _latest;

    public IReadOnlyList<GroupLag> LatestLag => _lag;

    public void Connected(int delta) => Interlocked.Add(ref _clients, delta);

    /// <summary>The current summary (shared with open pages: no query when nothing changed since the last one).</summary>
    public async Task<FlowSummary?> LatestAsync() => await TryLoadAsync();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var subscription = changes.Subscribe(change =>
        {
            // Only hub clients need the feed to follow every change: open pages load the same shared view themselves, and
            // the metrics are read every 15 s (at 1,000,000 orders each summary costs PostgreSQL a few hundred milliseconds).
            if (Volatile.Read(ref _clients) > 0 && (change.Notification.Unknown || ChangeFilters.Flow(change.Notification) || ChangeFilters.Lag(change.Notification)))
            {
                Signal();
            }

            return Task.CompletedTask;
        });
        var lastLag = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            var started = clock.GetUtcNow();
            if (await TryLoadAsync() is { } summary && Volatile.Read(ref _clients) > 0)
            {
                await hub.Clients.All.SendAsync(FlowHub.SummaryMessage, summary, stoppingToken);
            }

            if (started - lastLag >= TimeSpan.FromSeconds(5))
            {
                lastLag = started;
                try
                {
                    _lag = await shared.GetAsync("lag", ct => lag.ListAsync(ct), TimeSpan.FromSeconds(5));
                }
                catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException)
                {
                    logger.LogDebug("Flow feed: lag not read: {Message}", ex.Message);
                }
            }

            // Coalesce: wait out the rest of the gap, then for the next change (or the history tick).
            var rest = audience.Gap - (clock.GetUtcNow() - started);
            if (rest > TimeSpan.Zero)
            {
                await Task.Delay(rest, clock, stoppingToken);
            }

            await _signal.WaitAsync(FlowQueries.HistoryStep, stoppingToken);
        }
    }

    private void Signal()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // A load is already due.
        }
    }

    private async Task<FlowSummary?> TryLoadAsync()
    {
        try
        {
            return _latest = await shared.GetAsync("flow", ct => flow.SummaryAsync(ct), FlowQueries.HistoryStep);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException)
        {
            logger.LogDebug("Flow feed: summary not read: {Message}", ex.Message);
            return _latest;
        }
    }

    /// <summary>The dashboard's numbers as OpenTelemetry instruments (docs/metrics.md), read from the latest summary.</summary>
    public static void CreateInstruments(Meter meter, FlowFeed feed)
    {
        static IEnumerable<Measurement<T>> Per<T>(IEnumerable<(T Value, string Key, string Tag)>? items) where T : struct =>
            (items ?? []).Select(i => new Measurement<T>(i.Value, new KeyValuePair<string, object?>(i.Key, i.Tag)));
        meter.CreateObservableGauge("orderflow.orders.in_flight", () => Per(feed.Latest?.Steps.Select(s => (s.Waiting, "step", s.Step))), "{order}", "In-flight orders waiting for a step");
        meter.CreateObservableGauge("orderflow.orders.at_risk", () => Per(feed.Latest?.Steps.Select(s => (s.AtRisk, "step", s.Step))), "{order}", "In-flight orders past the at-risk share of a deadline, per step");
        meter.CreateObservableGauge("orderflow.orders.breached", () => Per(feed.Latest?.Steps.Select(s => (s.Breached, "step", s.Step))), "{order}", "In-flight orders with a breached deadline, per step");
        meter.CreateObservableGauge("orderflow.step.successes_per_minute", () => Per(feed.Latest?.Pace.Select(p => (p.EventsPerMinute, "step", p.Step))), "{event}/min", "Applied step successes per minute over the last 5 minutes");
        meter.CreateObservableGauge("orderflow.step.duration.p50", () => Per(feed.Latest?.Pace.Where(p => p.P50Ms is not null).Select(p => (p.P50Ms!.Value, "step", p.Step))), "ms", "Median step duration, last hour");
        meter.CreateObservableGauge("orderflow.step.duration.p95", () => Per(feed.Latest?.Pace.Where(p => p.P95Ms is not null).Select(p => (p.P95Ms!.Value, "step", p.Step))), "ms", "95th percentile step duration, last hour");
        meter.CreateObservableGauge("orderflow.dead_letters.new", () => feed.Latest?.NewDeadLetters ?? 0, "{record}", "Dead letters with status new");
        meter.CreateObservableGauge("orderflow.quarantined", () => feed.Latest?.Quarantined ?? 0, "{record}", "Quarantined records");
        meter.CreateObservableGauge("orderflow.consumer.lag", () => Per(feed.LatestLag.Select(g => (g.Lag, "group", g.Group))), "{message}", "Messages behind, per consumer group (summed over partitions)");
        meter.CreateObservableGauge("orderflow.consumer.lag_seconds", () => Per(feed.LatestLag.Where(g => g.LagSeconds is not null).Select(g => (g.LagSeconds!.Value, "group", g.Group))), "s", "Seconds behind (worst partition), per consumer group");
        meter.CreateObservableGauge("orderflow.consumer.orders_breaching_soon", () => Per(feed.LatestLag.Where(g => g.Impact is not null).Select(g => ((long)g.Impact!.BreachWithinHorizon, "group", g.Group))), "{order}", "Orders waiting at the group's step that breach within 10 minutes at the current drain rate");
    }
}
