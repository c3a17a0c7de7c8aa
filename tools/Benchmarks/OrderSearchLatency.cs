using System.Diagnostics;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Npgsql;
using OrderFlow.Domain.Workflow;
using OrderFlow.Platform.ReadModel;
using OrderFlow.Platform.Workflow;
using OrderFlow.Testing;
using OrderFlow.Web.Orders;

namespace OrderFlow.Benchmarks;

/// <summary>
/// Order search at 1,000,000 orders and 5,000,000 events, per filter, from outside (docs/benchmarks.md, "order search"):
/// a database <c>search_bench</c> on the local PostgreSQL of tools/postgres.sh, migrated, filled once by search-data.sql
/// (reused afterwards: generating takes minutes), its in-flight orders renewed by search-live.sql relative to now; then
/// Console.Web (Release, Production) is started on it and an HTTP client times <c>GET /api/orders?take=50&amp;…</c> per filter
/// (sequential, warm-up first), and each filter's two statements (page and capped count, as OrderQueries builds them for
/// the page and the API) are explained with <c>explain (analyze, costs off)</c>.
/// Usage: tools/benchmark.sh search [requests=200] [generate]
/// </summary>
public static class OrderSearchLatency
{
    private static readonly string Day = DateTimeOffset.UtcNow.AddDays(-10).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    private static readonly string NextDay = DateTimeOffset.UtcNow.AddDays(-9).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>The filters the issue names, as the page's URL and the API carry them.</summary>
    private static readonly (string Name, string Query)[] Filters =
    [
        ("none", ""),
        ("id exact", "search=ORD-00654321"),
        ("id prefix", "search=ORD-0065"),
        ("status", "status=expired"),
        ("step (live and stuck)", "step=shipped"),
        ("step (stuck only)", "step=payment-authorized"),
        ("sla breached", "sla=breached"),
        ("sla at-risk", "sla=at-risk"),
        ("sla on-track", "sla=on-track"),
        ("failure", "failure=true"),
        ("dead letter", "deadLetter=true"),
        ("flagged", "flagged=true"),
        ("time range (one day)", $"from={Day}T00:00:00Z&to={NextDay}T00:00:00Z"),
        ("in flight + failure + time", $"status=in-progress&failure=true&from={Day}T00:00:00Z"),
        ("at-risk + step", "sla=at-risk&step=shipped"),
    ];

    public static async Task RunAsync(string[] args)
    {
        var requests = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200;
        var generate = args.Contains("generate");
        var port = Environment.GetEnvironmentVariable("ORDERFLOW_PG_PORT") ?? "55432";
        var admin = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Pooling=false";
        var db = $"Host=127.0.0.1;Port={port};Username=postgres;Database=search_bench;Command Timeout=0";
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var exists = new NpgsqlCommand("select count(*) from pg_database where datname = 'search_bench'", connection);
            if ((long)(await exists.ExecuteScalarAsync())! == 0)
            {
                await using var create = new NpgsqlCommand("create database search_bench", connection);
                await create.ExecuteNonQueryAsync();
            }
        }

        await using (var context = new ReadModelDb(new DbContextOptionsBuilder<ReadModelDb>().UseNpgsql(db)
            .ConfigureWarnings(w => w.Ignore(Microsoft.EntityFrameworkCore.Diagnostics.RelationalEventId.PendingModelChangesWarning)).Options))
        {
            context.Database.SetCommandTimeout(TimeSpan.FromHours(1));
            await context.Database.MigrateAsync();
        }

        await using var dataSource = NpgsqlDataSource.Create(db);
        var sw = Stopwatch.StartNew();
        if (generate || await ScalarAsync(dataSource, "select count(*) from orders where order_id like 'ORD-0%'") < 1_000_000)
        {
            Console.WriteLine("generating 1,000,000 orders and 5,000,000 events (search-data.sql) …");
            await ExecuteFileAsync(dataSource, "search-data.sql");
            Console.WriteLine($"  generated in {sw.Elapsed.TotalSeconds:F0} s");
        }

        await ExecuteFileAsync(dataSource, "search-live.sql");
        Console.WriteLine($"Order search: {await ScalarAsync(dataSource, "select count(*) from orders"):N0} orders " +
            $"({await ScalarAsync(dataSource, "select count(*) from orders where status = 'in-progress'"):N0} in flight, " +
            $"{await ScalarAsync(dataSource, "select count(*) from orders where status = 'in-progress' and sla_state <> 'breached' and sla_at_risk_at <= now()"):N0} at risk), " +
            $"{await ScalarAsync(dataSource, "select count(*) from order_events"):N0} events, {await ScalarAsync(dataSource, "select count(*) from dead_letters"):N0} dead letters; " +
            $"orders {await TextAsync(dataSource, "select pg_size_pretty(pg_total_relation_size('orders'))")} with indexes; {Environment.ProcessorCount} cores");

        using var kafka = new KafkaBroker();
        var url = $"http://127.0.0.1:{PostgresServer.FreePort()}";
        await using var web = AppProcess.Start("Console.Web", TestUsers.With(new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ConnectionStrings__ReadModel"] = db,
            ["Kafka__BootstrapServers"] = kafka.BootstrapServers,
            ["Serilog__MinimumLevel__Default"] = "Warning",
        }), "--urls", url);
        await web.WaitForHealthyAsync(url, TimeSpan.FromSeconds(120));
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Add("X-Api-Key", TestUsers.ApiKeyOf("SupportAgent"));

        Console.WriteLine($"{requests} sequential requests per filter after 10 warm-up: GET /api/orders?take=50&<filter>; load {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine("| filter | query | matches (capped at 1,000) | p50 ms | p99 ms | max ms |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var (name, query) in Filters)
        {
            var path = "/api/orders?take=50" + (query.Length > 0 ? "&" + query : "");
            string body = "";
            for (var i = 0; i < 10; i++)
            {
                body = await http.GetStringAsync(path);
            }

            var times = new double[requests];
            for (var i = 0; i < requests; i++)
            {
                var start = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync(path);
                response.EnsureSuccessStatusCode();
                await response.Content.ReadAsByteArrayAsync();
                times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }

            Array.Sort(times);
            using var json = System.Text.Json.JsonDocument.Parse(body);
            var total = json.RootElement.GetProperty("total").GetInt64();
            var capped = json.RootElement.GetProperty("totalIsCapped").GetBoolean();
            Console.WriteLine($"| {name} | `{query}` | {(capped ? "1,000+" : total.ToString("N0", CultureInfo.InvariantCulture))} | {Percentile(times, 0.50):F1} | {Percentile(times, 0.99):F1} | {times[^1]:F1} |");
        }

        Console.WriteLine($"load {File.ReadAllText("/proc/loadavg").Trim()}");
        await ExplainAsync(dataSource);
    }

    /// <summary>The plans of the statements OrderQueries runs for each filter (same SQL, same parameters, explained).</summary>
    private static async Task ExplainAsync(NpgsqlDataSource dataSource)
    {
        var workflow = WorkflowFromFile();
        var queries = new OrderQueries(dataSource, TimeProvider.System, new OrderFlow.Platform.Workflow.WorkflowCatalog(workflow), Options.Create(new AtRiskOptions()));
        await using var connection = await dataSource.OpenConnectionAsync();
        foreach (var (name, query) in Filters)
        {
            var search = OrderSearch.FromQuery(query.Split('&', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2))
                .ToDictionary(p => p[0], p => (string?)Uri.UnescapeDataString(p[1])));
            Console.WriteLine($"### {name} (`{query}`)");
            Console.WriteLine("```");
            foreach (var command in queries.SearchCommands(search, null, 50, TimeProvider.System.GetUtcNow()))
            {
                await using (command)
                {
                    command.Connection = connection;
                    command.CommandText = "explain (analyze, costs off, timing off, summary off) " + command.CommandText;
                    await using var reader = await command.ExecuteReaderAsync();
                    while (await reader.ReadAsync())
                    {
                        Console.WriteLine(reader.GetString(0));
                    }
                }
            }

            Console.WriteLine("```");
        }
    }

    private static WorkflowDefinition WorkflowFromFile()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "workflow.json")).Build();
        var options = new WorkflowOptions();
        configuration.GetSection(WorkflowOptions.Section).Bind(options);
        return options.ToDefinition();
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    /// <summary>Runs a script of tools/Benchmarks through psql (VACUUM cannot run inside one multi-statement command).</summary>
    private static async Task ExecuteFileAsync(NpgsqlDataSource dataSource, string file)
    {
        var target = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        var start = new ProcessStartInfo("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", target.Host!, "-p", target.Port.ToString(CultureInfo.InvariantCulture),
            "-U", target.Username!, "-d", target.Database!, "-f", Path.Combine(AppContext.BaseDirectory, file)]) { RedirectStandardError = true };
        using var psql = Process.Start(start) ?? throw new InvalidOperationException("could not start psql");
        var errors = await psql.StandardError.ReadToEndAsync();
        await psql.WaitForExitAsync();
        if (psql.ExitCode != 0)
        {
            throw new InvalidOperationException($"psql -f {file} failed: {errors}");
        }
    }

    private static async Task<long> ScalarAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    private static async Task<string> TextAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return (string)(await command.ExecuteScalarAsync())!;
    }
}
