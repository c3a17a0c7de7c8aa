using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using Xunit;

namespace OrderFlow.Testing;

/// <summary>A throwaway PostgreSQL server (Debian's binaries) on a free loopback port, one per test run.</summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "orderflow-pg-" + Guid.NewGuid().ToString("N")[..8]);
    private string _bin = "";
    private int _databases;

    public int Port { get; private set; }

    public string AdminConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=false";

    public async Task InitializeAsync()
    {
        _bin = Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderBy(d => d).LastOrDefault()
            ?? throw new InvalidOperationException("PostgreSQL server binaries not found in /usr/lib/postgresql (run tools/setup.sh)");
        Directory.CreateDirectory(_dir);
        if (Environment.UserName == "root")
        {
            await RunAsync("chown", "postgres:postgres", _dir);
        }

        Port = FreePort();
        await RunAsPostgresAsync(Path.Combine(_bin, "initdb"), "-D", Path.Combine(_dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync");
        await StartAsync();
    }

    /// <summary>Stops the server the way an operator would (fast shutdown: open connections are cut), keeping its data.</summary>
    public async Task StopAsync()
    {
        await RunAsPostgresAsync(Path.Combine(_bin, "pg_ctl"), "-D", Path.Combine(_dir, "data"), "-m", "fast", "-w", "stop");
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>Starts the server on its port and data directory (again, after StopAsync).</summary>
    public Task StartAsync() =>
        RunAsPostgresAsync(Path.Combine(_bin, "pg_ctl"), "-D", Path.Combine(_dir, "data"), "-w", "-l", Path.Combine(_dir, "server.log"),
            "-o", $"-p {Port} -k {_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300", "start");

    /// <summary>A fresh, empty database on this server.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "test")
    {
        var name = $"{prefix}_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid().ToString("N")[..6]}";
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"create database \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return $"Host=127.0.0.1;Port={Port};Username=postgres;Database={name}";
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await RunAsPostgresAsync(Path.Combine(_bin, "pg_ctl"), "-D", Path.Combine(_dir, "data"), "-m", "immediate", "stop");
        Directory.Delete(_dir, recursive: true);
    }

    private Task RunAsPostgresAsync(string file, params string[] args) =>
        Environment.UserName == "root" ? RunAsync("runuser", ["-u", "postgres", "--", file, .. args]) : RunAsync(file, args);

    private static async Task RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {await stdout} {await stderr}");
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
