using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Playwright;
using OrderFlow.Domain.Events;
using OrderFlow.Testing;

namespace OrderFlow.Benchmarks;

/// <summary>
/// Event→screen latency against a running stack (./run.sh): an outside producer publishes one probe record at a time; a
/// MutationObserver in Chromium notes (Date.now()) when the page shows it; latency = that moment − the record's Kafka
/// timestamp (CreateTime, set by the producer; same machine clock). Probes are spaced 300–800 ms apart, each waits for
/// its change, so no change is attributed to the wrong probe. Pages: an open order page (a failed payment event adds a
/// timeline entry) and the flow dashboard (a record that is not an event raises the quarantined tile: the same path —
/// Ingest batch, PostgreSQL, NOTIFY, shared query, render — without depending on what the simulator does meanwhile).
/// Then memory and CPU: Console.Web's RSS with N more dashboard pages open, and its CPU over 20 s before and while they are
/// (the load, if any, going on): what each open dashboard costs it per second.
/// LATENCY_TRACE=&lt;dir&gt; writes each probe's timestamps there (one CSV per page).
/// LATENCY_LOAD=&lt;events/s&gt; adds background traffic while the probes run: happy-path orders (five events each) from a
/// second producer at that rate, so the latency is measured with Ingest busy (the issue asks for half its capacity).
/// Run the stack with ORDERFLOW_SIMULATOR=off then: the simulator's services would read the load too (decision 0027).
/// Usage: [LATENCY_LOAD=events/s] tools/benchmark.sh latency &lt;web url&gt; &lt;bootstrap&gt; [probes=100] [pages=50,200]
/// </summary>
public static class ScreenLatency
{
    public static async Task RunAsync(string[] args)
    {
        var web = args[0].TrimEnd('/');
        var bootstrap = args[1];
        var probes = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 100;
        var pageCounts = args.Length > 3 ? args[3].Split(',').Select(int.Parse).ToArray() : [50, 200];
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = bootstrap, LingerMs = 0, Acks = Acks.All }).Build();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(Browsers.Headless);
        var signedIn = await browser.NewContextAsync();
        // Signed in, then closed: the page sign-in lands on (the live order list) would re-read and re-render on every batch
        // through the whole run, beside the pages measured.
        var signIn = await signedIn.NewPageAsync();
        await Browsers.SignInAsync(signIn, web, "business", "business-demo");
        await signIn.CloseAsync();

        var rate = int.TryParse(Environment.GetEnvironmentVariable("LATENCY_LOAD"), out var r) ? r : 0;
        using ILoad? load = Environment.GetEnvironmentVariable("LATENCY_LOAD_NICE") is { Length: > 0 } nice
            ? LoadProcess.Start(bootstrap, rate, int.Parse(nice, System.Globalization.CultureInfo.InvariantCulture))
            : BackgroundLoad.Start(bootstrap, rate);
        if (load is not null)
        {
            // The probes measure the steady load: the first probe, sent as the load started, reached the read model 1.0–1.6 s
            // after it was sent in three runs (docs/benchmarks.md, the dashboard under continuous change).
            await Task.Delay(TimeSpan.FromSeconds(10));
        }

        var orderId = "LAT-" + Guid.NewGuid().ToString("N")[..8];
        await producer.ProduceAsync(KafkaBroker.OperationalTopic, Message(Events.StepAt(orderId, "order-placed", DateTimeOffset.UtcNow)));
        var orderPage = await signedIn.NewPageAsync();
        await orderPage.GotoAsync($"{web}/orders/{orderId}");
        // Observed once the circuit runs the page: observed from the prerendered page, the first two probes' "changes" were
        // seen before their records were stored (docs/benchmarks.md) — the circuit replacing the prerendered timeline.
        await orderPage.WaitForSelectorAsync("[data-interactive=true] [data-testid=timeline-event]", new() { Timeout = 60_000 });
        await Observe(orderPage, "document.querySelectorAll('[data-testid=timeline-event]').length");
        var orderWork = await BrowserWork.StartAsync(orderPage);
        var order = await ProbeAsync(orderPage, probes, i => PublishAsync(producer,
            Message(new OperationalEvent(Guid.NewGuid(), orderId, "payment-authorized", "payment-service", StepOutcome.Failed, $"probe {i}", DateTimeOffset.UtcNow, 1, "{}"))));
        Report("order page", order);
        Console.WriteLine($"browser: {await orderWork.ReportAsync("order page")} while the order page's probes ran");

        var flow = await signedIn.NewPageAsync();
        await flow.GotoAsync($"{web}/flow");
        // Observed once the circuit is up (the prerendered tiles are replaced then); absent for a moment while re-rendering.
        await flow.WaitForSelectorAsync("[data-interactive=true] [data-testid=tile-quarantined]", new() { Timeout = 60_000 });
        await Observe(flow, "document.querySelector('[data-testid=tile-quarantined] .tile-value')?.textContent");
        var flowWork = await BrowserWork.StartAsync(orderPage, flow);
        var dashboard = await ProbeAsync(flow, probes, i => PublishAsync(producer,
            Stamped(new Message<string, byte[]> { Key = "LAT-POISON", Value = "not an event "u8.ToArray() })));
        Report("flow dashboard", dashboard);
        Console.WriteLine($"browser: {await flowWork.ReportAsync("order page", "dashboard")} while the dashboard's probes ran");
        load?.Report();

        var webPid = ProcessInfo.Find("Console.Web", new Uri(web).Port);
        foreach (var count in pageCounts)
        {
            var before = ProcessInfo.Rss(webPid);
            var idleCpu = await CpuPerSecondAsync(webPid);
            var context = await browser.NewContextAsync();
            await Browsers.SignInAsync(await context.NewPageAsync(), web, "business", "business-demo");
            var pages = new List<IPage>();
            for (var i = 0; i < count; i++)
            {
                var page = await context.NewPageAsync();
                await page.GotoAsync($"{web}/flow");
                await page.WaitForSelectorAsync("[data-testid=live-indicator]", new() { Timeout = 120_000 });
                pages.Add(page);
            }

            var openCpu = await CpuPerSecondAsync(webPid);
            var after = ProcessInfo.Rss(webPid);
            Console.WriteLine($"memory: {count} dashboard pages: Console.Web RSS {before / 1048576.0:F0} → {after / 1048576.0:F0} MB, {(after - before) / 1048576.0 / count:F2} MB per page");
            Console.WriteLine($"cpu: {count} dashboard pages: Console.Web {idleCpu:F3} → {openCpu:F3} cores, {(openCpu - idleCpu) * 1000 / count:F2} ms of CPU per second per page");
            await context.CloseAsync();
            await Task.Delay(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>Console.Web's CPU (cores) over the next 20 s: what the pages open then cost it, the load going on.</summary>
    private static async Task<double> CpuPerSecondAsync(int webPid)
    {
        var started = Stopwatch.GetTimestamp();
        var cpu = ProcessInfo.CpuSeconds([webPid]);
        await Task.Delay(TimeSpan.FromSeconds(20));
        return (ProcessInfo.CpuSeconds([webPid]) - cpu) / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    /// <summary>
    /// The browser's own work for its open pages: each page's main-thread task time (Chromium's TaskDuration, over the
    /// DevTools protocol) per second of a phase. The browser shares this machine's cores with the stack it measures; on the
    /// shop's floor it runs on the viewer's machine (docs/benchmarks.md).
    /// </summary>
    private sealed class BrowserWork(IReadOnlyList<ICDPSession> sessions, double[] before, long started)
    {
        public static async Task<BrowserWork> StartAsync(params IPage[] pages)
        {
            var sessions = new List<ICDPSession>();
            foreach (var page in pages)
            {
                var session = await page.Context.NewCDPSessionAsync(page);
                await session.SendAsync("Performance.enable");
                sessions.Add(session);
            }

            return new BrowserWork(sessions, await TaskSecondsAsync(sessions), Stopwatch.GetTimestamp());
        }

        /// <summary>"N ms of main-thread work per second (name M, …)" since the start.</summary>
        public async Task<string> ReportAsync(params string[] names)
        {
            var after = await TaskSecondsAsync(sessions);
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var each = after.Select((a, i) => (a - before[i]) * 1000 / seconds).ToList();
            var parts = string.Join(", ", each.Select((ms, i) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{names[i]} {ms:F0}")));
            return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{each.Sum():F0} ms of main-thread work per second ({parts})");
        }

        private static async Task<double[]> TaskSecondsAsync(IReadOnlyList<ICDPSession> sessions)
        {
            var seconds = new double[sessions.Count];
            for (var i = 0; i < sessions.Count; i++)
            {
                var metrics = await sessions[i].SendAsync("Performance.getMetrics");
                seconds[i] = metrics!.Value.GetProperty("metrics").EnumerateArray()
                    .First(m => m.GetProperty("name").GetString() == "TaskDuration").GetProperty("value").GetDouble();
            }

            return seconds;
        }
    }

    /// <summary>The record's timestamp (CreateTime) set here, when it is handed to the producer.</summary>
    private static Message<string, byte[]> Message(OperationalEvent e) => Stamped(Events.ToMessage(e));

    private static Message<string, byte[]> Stamped(Message<string, byte[]> message)
    {
        message.Timestamp = new Timestamp(DateTime.UtcNow);
        return message;
    }

    /// <summary>Publishes and returns the record's timestamp (the CreateTime it carries).</summary>
    private static async Task<long> PublishAsync(IProducer<string, byte[]> producer, Message<string, byte[]> message)
    {
        await producer.ProduceAsync(KafkaBroker.OperationalTopic, message);
        return message.Timestamp.UnixTimestampMs;
    }

    private static Task Observe(IPage page, string probe) => page.EvaluateAsync($$"""
        () => {
            const read = () => { const v = {{probe}}; return v == null ? null : String(v); };
            window.__seen = [];
            let last = read();
            // An element missing for a moment (re-rendered) is not a change.
            new MutationObserver(() => { const now = read(); if (now !== null && now !== last) { last = now; window.__seen.push([Date.now(), now]); } })
                .observe(document.body, { subtree: true, childList: true, characterData: true });
        }
        """);

    private static async Task<List<(long Stamped, double Seen)>> ProbeAsync(IPage page, int probes, Func<int, Task<long>> publish)
    {
        var samples = new List<(long, double)>();
        for (var i = 0; i < probes; i++)
        {
            var seen = await page.EvaluateAsync<int>("() => window.__seen.length");
            var stamped = await publish(i);
            var handle = await page.WaitForFunctionAsync($"() => window.__seen.length > {seen}", null, new() { Timeout = 30_000 });
            var at = await page.EvaluateAsync<double>($"() => window.__seen[{seen}][0]");
            samples.Add((stamped, at));
            await Task.Delay(300 + Random.Shared.Next(500));
        }

        return samples;
    }

    /// <summary>
    /// The percentiles and raw latencies; with LATENCY_TRACE=&lt;dir&gt; also each probe's record timestamp and the moment
    /// the page showed it (Unix ms, in probe order) in &lt;dir&gt;/&lt;name&gt;.csv, to be set beside the times the read model
    /// stored it (docs/benchmarks.md: where the time goes).
    /// </summary>
    private static void Report(string name, List<(long Stamped, double Seen)> probes)
    {
        if (Environment.GetEnvironmentVariable("LATENCY_TRACE") is { Length: > 0 } dir)
        {
            Directory.CreateDirectory(dir);
            File.WriteAllLines(Path.Combine(dir, name.Replace(' ', '-') + ".csv"),
                probes.Select(p => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{p.Stamped},{p.Seen:F0}")));
        }

        var samples = probes.Select(p => p.Seen - p.Stamped).ToList();
        samples.Sort();
        double P(double q) => samples[Math.Min(samples.Count - 1, (int)Math.Ceiling(q * samples.Count) - 1)];
        Console.WriteLine($"{name}: n={samples.Count} p50={P(0.5):F0} ms p90={P(0.9):F0} ms p99={P(0.99):F0} ms max={samples[^1]:F0} ms min={samples[0]:F0} ms");
        Console.WriteLine($"  raw: {string.Join(' ', samples.Select(s => s.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)))}");
    }

    /// <summary>
    /// <c>load &lt;bootstrap&gt; &lt;events/s&gt;</c>: the background load alone, until its standard input closes (then its report).
    /// Run by <see cref="LoadProcess"/> under <c>nice</c>.
    /// </summary>
    public static async Task LoadAsync(string[] args)
    {
        var load = BackgroundLoad.Start(args[0], int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture));
        await Console.In.ReadToEndAsync();
        load?.Dispose();
        load?.Report();
    }

    private interface ILoad : IDisposable
    {
        void Report();
    }

    /// <summary>
    /// LATENCY_LOAD_NICE=&lt;n&gt;: the background load in its own process at that niceness, as a stand-in for producers on
    /// other machines: on one small machine the load's producer otherwise competes for the cores with the stack it loads.
    /// </summary>
    private sealed class LoadProcess(Process process) : ILoad
    {
        public static LoadProcess? Start(string bootstrap, int eventsPerSecond, int niceness)
        {
            if (eventsPerSecond <= 0)
            {
                return null;
            }

            var start = new ProcessStartInfo("nice") { RedirectStandardInput = true, UseShellExecute = false };
            // This program again: through the dotnet host (tools/benchmark.sh) or its own executable.
            var self = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet"
                ? new[] { Environment.ProcessPath!, typeof(ScreenLatency).Assembly.Location }
                : new[] { Environment.ProcessPath! };
            foreach (var arg in (string[])["-n", niceness.ToString(System.Globalization.CultureInfo.InvariantCulture), .. self, "load", bootstrap, eventsPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture)])
            {
                start.ArgumentList.Add(arg);
            }

            Console.WriteLine($"background load: {eventsPerSecond:N0} events/s from a separate process at niceness {niceness}");
            return new LoadProcess(Process.Start(start)!);
        }

        /// <summary>The load goes on (through the pages' measurement, as in process); the process reports as it ends.</summary>
        public void Report() => Console.WriteLine("background load: its figures follow when it stops, at the end of the run");

        public void Dispose()
        {
            process.StandardInput.Close();
            process.WaitForExit();
            process.Dispose();
        }
    }

    /// <summary>Happy-path orders published at a steady rate on their own thread until disposed.</summary>
    private sealed class BackgroundLoad : ILoad
    {
        private static readonly string[] Steps = ["order-placed", "payment-authorized", "stock-reserved", "shipped", "order-completed"];
        private readonly IProducer<string, byte[]> _producer;
        private readonly CancellationTokenSource _stop = new();
        private readonly Thread _thread;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _produced;
        private long _failed;

        private BackgroundLoad(string bootstrap, int eventsPerSecond)
        {
            _producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = bootstrap, LingerMs = 5, Acks = Acks.All }).Build();
            _thread = new Thread(() => Run(eventsPerSecond)) { IsBackground = true, Name = "latency-load" };
            _thread.Start();
        }

        public static BackgroundLoad? Start(string bootstrap, int eventsPerSecond) =>
            eventsPerSecond > 0 ? new BackgroundLoad(bootstrap, eventsPerSecond) : null;

        private void Run(int eventsPerSecond)
        {
            var run = Guid.NewGuid().ToString("N")[..6];
            long sent = 0;
            while (!_stop.IsCancellationRequested)
            {
                var due = (long)(_clock.Elapsed.TotalSeconds * eventsPerSecond);
                for (; sent < due; sent++)
                {
                    var order = $"LOAD-{run}-{sent / Steps.Length}";
                    var message = Events.ToMessage(Events.StepAt(order, Steps[sent % Steps.Length], DateTimeOffset.UtcNow));
                    try
                    {
                        _producer.Produce(KafkaBroker.OperationalTopic, message, Delivered);
                    }
                    catch (ProduceException<string, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                    {
                        _producer.Poll(TimeSpan.FromMilliseconds(5));
                        break;
                    }
                }

                Thread.Sleep(5);
            }
        }

        private void Delivered(DeliveryReport<string, byte[]> report)
        {
            if (report.Error.IsError)
            {
                Interlocked.Increment(ref _failed);
            }
            else
            {
                Interlocked.Increment(ref _produced);
            }
        }

        public void Report()
        {
            var seconds = _clock.Elapsed.TotalSeconds;
            Console.WriteLine($"background load: {Interlocked.Read(ref _produced):N0} events acknowledged in {seconds:F0} s ({Interlocked.Read(ref _produced) / seconds:N0} events/s), {Interlocked.Read(ref _failed)} failed");
        }

        public void Dispose()
        {
            _stop.Cancel();
            _thread.Join();
            _producer.Flush(TimeSpan.FromSeconds(30));
            _producer.Dispose();
        }
    }
}
