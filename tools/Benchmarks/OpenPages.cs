using System.Diagnostics;
using System.Globalization;
using Microsoft.Playwright;

namespace OrderFlow.Benchmarks;

/// <summary>
/// What an open page costs the servers, against a running stack (./run.sh with its simulator): for each page count N,
/// N live pages (by default alternately the order list and the flow dashboard, one signed-in browser context) are opened, then
/// over one window of <c>seconds</c>: Console.Web's and PostgreSQL's CPU (from /proc, PostgreSQL summed over its
/// processes), Console.Web's connections to PostgreSQL, and whether every page updated itself (its live indicator's
/// "updated" time moved). Memory: Console.Web's managed heap after a full GC (dotnet-gcdump, which forces one) before the
/// pages opened and while they are open: retained bytes per page, not RSS.
/// Usage: tools/benchmark.sh pages &lt;web url&gt; [counts=50,200] [seconds=60] [paths=/orders,/flow]
/// </summary>
public static class OpenPages
{
    public static async Task RunAsync(string[] args)
    {
        var web = args[0].TrimEnd('/');
        var counts = args.Length > 1 ? args[1].Split(',').Select(int.Parse).ToArray() : [50, 200];
        var seconds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 60;
        var paths = args.Length > 3 ? args[3].Split(',') : ["/orders", "/flow"];
        var gcdump = Environment.GetEnvironmentVariable("GCDUMP") ?? "dotnet-gcdump";
        var perTab = int.Parse(Environment.GetEnvironmentVariable("PAGES_PER_TAB") ?? "1", CultureInfo.InvariantCulture);
        var webPid = ProcessInfo.Find("Console.Web", new Uri(web).Port);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(Browsers.Headless);

        // One page of each kind stays open throughout, so what the first page of a kind loads once (caches, compiled code)
        // is in the baseline, not in the per-page figure.
        var warm = await browser.NewContextAsync();
        await Browsers.SignInAsync(await warm.NewPageAsync(), web, "business", "business-demo");
        foreach (var path in paths)
        {
            var page = await warm.NewPageAsync();
            await page.GotoAsync(web + path);
            await page.WaitForSelectorAsync("[data-interactive=true]", new() { Timeout = 120_000 });
        }

        foreach (var count in counts)
        {
            var heapBefore = await HeapAsync(gcdump, webPid);
            var context = await browser.NewContextAsync();
            var signIn = await context.NewPageAsync();
            await Browsers.SignInAsync(signIn, web, "business", "business-demo");
            await signIn.CloseAsync();
            var pages = new List<IFrame>();
            var opening = Stopwatch.StartNew();
            for (var i = 0; i < count; i += perTab)
            {
                var page = await context.NewPageAsync();
                if (perTab == 1)
                {
                    await page.GotoAsync(web + paths[i % paths.Length]);
                    await page.WaitForSelectorAsync("[data-interactive=true]", new() { Timeout = 120_000 });
                    pages.Add(page.MainFrame);
                    continue;
                }

                // Several console pages as same-origin frames of one tab: each is its own document with its own circuit, but
                // they share the tab's renderer process, so 200 circuits fit beside the servers on a small machine.
                await page.GotoAsync(web + "/health");
                var sources = Enumerable.Range(i, Math.Min(perTab, count - i)).Select(k => web + paths[k % paths.Length]).ToArray();
                await page.EvaluateAsync(
                    "sources => { document.body.innerHTML = ''; for (const s of sources) { const f = document.createElement('iframe'); f.src = s; f.width = 1280; f.height = 800; document.body.appendChild(f); } }",
                    sources);
                await page.WaitForFunctionAsync(
                    "n => [...document.querySelectorAll('iframe')].filter(f => f.contentDocument?.querySelector('[data-interactive=true]')).length === n",
                    sources.Length, new() { Timeout = 300_000, PollingInterval = 500 });
                pages.AddRange(page.Frames.Where(f => f != page.MainFrame));
            }

            Console.WriteLine($"{count} pages open in {opening.Elapsed.TotalSeconds:F0} s");
            var heapOpen = await HeapAsync(gcdump, webPid);
            var shownBefore = await Task.WhenAll(pages.Select(LastUpdateAsync));
            var postgres = ProcessInfo.Postmaster(".local/postgres/data/postmaster.pid");
            var webCpu = ProcessInfo.CpuSeconds([webPid]);
            var pgCpu = ProcessInfo.TreeCpuSeconds(postgres);
            var window = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            var webCores = (ProcessInfo.CpuSeconds([webPid]) - webCpu) / window.Elapsed.TotalSeconds;
            var pgCores = (ProcessInfo.TreeCpuSeconds(postgres) - pgCpu) / window.Elapsed.TotalSeconds;
            var shownAfter = await Task.WhenAll(pages.Select(LastUpdateAsync));
            var live = shownBefore.Zip(shownAfter).Count(p => p.First != p.Second);
            var connections = ProcessInfo.ConnectionsFrom(webPid, 55432);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{count} pages: Console.Web {webCores:F3} core, PostgreSQL {pgCores:F3} core ({webCores + pgCores:F3} together, {(webCores + pgCores) / Math.Max(count, 1) * 1000:F1} millicores per page); " +
                $"Console.Web connections to PostgreSQL {connections}; pages that updated in the window {live} of {count}; " +
                $"Console.Web heap after full GC {heapBefore / 1048576.0:F1} → {heapOpen / 1048576.0:F1} MB, {(heapOpen - heapBefore) / 1024.0 / Math.Max(count, 1):F0} KB per page; " +
                $"Console.Web RSS {ProcessInfo.Rss(webPid) / 1048576.0:F0} MB"));
            foreach (var i in Enumerable.Range(0, pages.Count).Where(i => shownBefore[i] == shownAfter[i]).Take(10))
            {
                // A page with nothing new to show and a page whose circuit is gone look alike above; Blazor's reconnect UI tells them apart.
                var reconnect = await pages[i].EvaluateAsync<string>("() => document.querySelector('[id^=components-reconnect]')?.className || 'none shown'");
                Console.WriteLine($"  not updated: {pages[i].Url} (reconnect UI: {reconnect}; indicator: {shownAfter[i]})");
            }

            await context.CloseAsync();
            await Task.Delay(TimeSpan.FromSeconds(15));
        }
    }

    /// <summary>What the page's live indicator says ("Live · updated HH:mm:ss UTC"); a page without one never counts as updated.</summary>
    private static async Task<string> LastUpdateAsync(IFrame page)
    {
        var indicator = page.Locator("[data-testid=live-indicator]");
        return await indicator.CountAsync() == 0 ? Guid.NewGuid().ToString() : await indicator.First.TextContentAsync() ?? "";
    }

    /// <summary>Console.Web's managed heap in bytes after a full blocking GC (dotnet-gcdump collect forces one and reports the total).</summary>
    private static async Task<long> HeapAsync(string gcdump, int pid)
    {
        var file = Path.Combine(Path.GetTempPath(), $"console-web-{pid}-{Guid.NewGuid():N}.gcdump");
        await RunAsync(gcdump, $"collect -p {pid} -o {file}");
        var report = await RunAsync(gcdump, $"report {file}");
        File.Delete(file);
        // The report's first table row under the header is the total: "<bytes>  GC Heap bytes" (older tools: "Total").
        foreach (var line in report.Split('\n'))
        {
            var parts = line.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && parts[1].Contains("GC Heap bytes", StringComparison.Ordinal))
            {
                return long.Parse(parts[0].Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException("dotnet-gcdump report printed no 'GC Heap bytes' line:\n" + report);
    }

    private static async Task<string> RunAsync(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"{file} {arguments} failed: {await process.StandardError.ReadToEndAsync()}{output}");
    }
}

/// <summary>The headless Chromium the browser benchmarks use, and signing in as a person would.</summary>
internal static class Browsers
{
    public static readonly BrowserTypeLaunchOptions Headless = new()
    {
        ExecutablePath = "/usr/bin/chromium",
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-renderer-backgrounding", "--disable-background-timer-throttling", "--disable-backgrounding-occluded-windows"],
    };

    public static async Task SignInAsync(IPage page, string web, string user, string password)
    {
        await page.GotoAsync(web + "/login");
        await page.GetByTestId("login-user").FillAsync(user);
        await page.GetByTestId("login-password").FillAsync(password);
        await page.GetByTestId("login-submit").ClickAsync();
        await page.WaitForURLAsync(url => !url.Contains("/login", StringComparison.Ordinal));
    }
}

/// <summary>Figures about local processes read from /proc.</summary>
internal static class ProcessInfo
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    /// <summary>The process whose command line names <paramref name="app"/> and listens on <paramref name="port"/> (or WEB_PID).</summary>
    public static int Find(string app, int port)
    {
        if (Environment.GetEnvironmentVariable("WEB_PID") is { } pid)
        {
            return int.Parse(pid, CultureInfo.InvariantCulture);
        }

        return FindAll(app).FirstOrDefault(p => CommandLine(p).Contains(port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)) is var found and > 0
            ? found
            : throw new InvalidOperationException($"no {app} process with port {port} in its command line: set WEB_PID");
    }

    public static int[] FindAll(string name) =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var p) ? p : 0)
            .Where(p => p > 0 && CommandLine(p).Contains(name, StringComparison.Ordinal))
            .ToArray();

    /// <summary>The PostgreSQL server of this checkout: its postmaster (first line of postmaster.pid).</summary>
    public static int Postmaster(string pidFile)
    {
        var postmaster = int.Parse(File.ReadLines(pidFile).First(), CultureInfo.InvariantCulture);
        return postmaster;
    }

    /// <summary>
    /// CPU seconds of a server and every process it forked: its own time, the time of its children that ended (cutime,
    /// cstime: PostgreSQL's backends come and go) and the time of its children alive now.
    /// </summary>
    public static double TreeCpuSeconds(int server)
    {
        var fields = StatFields(server);
        var own = fields is null ? 0 : (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)
            + long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture)) / TicksPerSecond;
        var children = Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var p) ? p : 0)
            .Where(p => p > 0 && ParentOf(p) == server);
        return own + CpuSeconds(children);
    }

    /// <summary>/proc/pid/stat's fields after the command name (which may hold spaces): [0] state, [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime.</summary>
    private static string[]? StatFields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static int ParentOf(int pid) => StatFields(pid) is { } fields ? int.Parse(fields[1], CultureInfo.InvariantCulture) : 0;

    public static double CpuSeconds(IEnumerable<int> pids) => pids.Sum(p =>
        StatFields(p) is { } fields ? (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond : 0);

    public static long Rss(int pid)
    {
        var line = File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>Established TCP connections of the process to a local port (its sockets' inodes matched in /proc/net/tcp).</summary>
    public static int ConnectionsFrom(int pid, int port)
    {
        var inodes = Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd")
            .Select(fd => { try { return new FileInfo(fd).LinkTarget; } catch (IOException) { return null; } })
            .Where(t => t is not null && t.StartsWith("socket:[", StringComparison.Ordinal))
            .Select(t => t![8..^1])
            .ToHashSet();
        var hexPort = port.ToString("X4", CultureInfo.InvariantCulture);
        return File.ReadAllLines("/proc/net/tcp").Skip(1)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Count(f => f[2].EndsWith(":" + hexPort, StringComparison.Ordinal) && f[3] == "01" && inodes.Contains(f[9]));
    }

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }
}

/// <summary>A signed-in full-page screenshot of one console page: <c>shot &lt;web url&gt; &lt;path&gt; &lt;file.png&gt; [dark] [user] [password]</c>.</summary>
public static class Screenshot
{
    public static async Task RunAsync(string[] args)
    {
        var (web, path, file) = (args[0].TrimEnd('/'), args[1], args[2]);
        var dark = args.Length > 3 && args[3] == "dark";
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(Browsers.Headless);
        var context = await browser.NewContextAsync(new() { ViewportSize = new() { Width = 1440, Height = 900 } });
        if (dark)
        {
            await context.AddCookiesAsync([new Cookie { Name = "console-theme", Value = "dark", Url = web }]);
        }

        var page = await context.NewPageAsync();
        await Browsers.SignInAsync(page, web, args.Length > 4 ? args[4] : "agent", args.Length > 5 ? args[5] : "agent-demo");
        await page.GotoAsync(web + path);
        await page.WaitForSelectorAsync("[data-interactive=true]", new() { Timeout = 60_000 });
        await page.WaitForTimeoutAsync(1500);
        var width = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth");
        if (width > 1440)
        {
            Console.WriteLine($"{path}: the page is {width} px wide in a 1440 px window (it scrolls sideways)");
        }

        await page.ScreenshotAsync(new() { Path = file, FullPage = true });
    }
}
