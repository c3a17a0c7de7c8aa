using System.Collections.Concurrent;
using System.Diagnostics;

namespace OrderFlow.Testing;

/// <summary>One of the console's real executables (Console.Ingest, Console.Web) started as its own process, the way ./run.sh starts it.</summary>
public sealed class AppProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly Task _stdout;
    private readonly Task _stderr;

    private AppProcess(Process process)
    {
        _process = process;
        _stdout = Pump(process.StandardOutput);
        _stderr = Pump(process.StandardError);
    }

    public string Output => string.Join('\n', _output);

    public string Stderr { get; private set; } = "";

    public int ExitCode => _process.ExitCode;

    public static AppProcess Start(string app, IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Start(app, app, environment, args);

    /// <summary>A project whose folder is not named after its assembly (tools/Simulator builds Console.Simulator).</summary>
    public static AppProcess Start(string projectDirectory, string assembly, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var project = Path.Combine(RepositoryRoot(), projectDirectory);
        var configuration = Path.GetFileName(Path.GetDirectoryName(AppContext.BaseDirectory.TrimEnd('/'))!);
        var dll = Path.Combine(project, "bin", configuration, "net10.0", assembly + ".dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is not built (build Console.sln first)");
        }

        var start = new ProcessStartInfo("dotnet", [dll, .. args])
        {
            WorkingDirectory = project,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        return new AppProcess(Process.Start(start) ?? throw new InvalidOperationException($"could not start {assembly}"));
    }

    /// <summary>Waits for the process to end by itself (start-up failure tests).</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        await Task.WhenAll(_stdout, _stderr);
        return _process.ExitCode;
    }

    /// <summary>Waits until GET {baseUrl}/health answers 200.</summary>
    public async Task WaitForHealthyAsync(string baseUrl, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"process exited with {_process.ExitCode}: {Output}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(baseUrl + "/health"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                last = await response.Content.ReadAsStringAsync();
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }
            catch (TaskCanceledException ex) when (ex.InnerException is TimeoutException)
            {
                // One answer slower than the client's 5 s (a start-up migration holding a lock): not healthy yet; the deadline decides.
                last = ex.Message;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{baseUrl}/health not healthy after {timeout}: {last}\n{Output}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Console.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Console.sln not found above " + AppContext.BaseDirectory);
    }

    private Task Pump(StreamReader reader) => Task.Run(async () =>
    {
        var isError = reader == _process.StandardError;
        var errors = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
        {
            _output.Enqueue(line);
            if (isError)
            {
                errors.Add(line);
                Stderr = string.Join('\n', errors);
            }
        }
    });
}
