using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Npgsql;

namespace OrderFlow.Web;

/// <summary>Section "Console": how the web console reads the read model.</summary>
public sealed class ConsoleWebOptions
{
    public const string Section = "Console";

    /// <summary>
    /// Connections Console.Web may hold, kept below PostgreSQL's max_connections (100 by default) with room for Ingest and
    /// psql. Open pages share one query per view per change (SharedQueries), so they never need one connection each.
    /// </summary>
    [Range(2, 500)]
    public int MaxConnections { get; set; } = 20;

    /// <summary>How long a query waits for a free connection before the page shows an error instead of hanging.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan ConnectionWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Console.Ingest's base address (for example http://127.0.0.1:5081): the freshness banner asks its /health every two
    /// seconds. Without it, the banner judges Ingest by the lag sampler's heartbeat in PostgreSQL alone.
    /// </summary>
    [Url]
    public string? IngestUrl { get; set; }

    /// <summary>Ingest is called behind when its consumer group is this many seconds behind the topic.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan BehindWarning { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>The read model's connection pool for Console.Web: bounded, with a short wait, whatever the connection string says.</summary>
public static class ReadModelPool
{
    public static NpgsqlDataSource Create(IConfiguration configuration, ConsoleWebOptions options)
    {
        var connection = new NpgsqlConnectionStringBuilder(configuration.GetConnectionString("ReadModel"))
        {
            MaxPoolSize = options.MaxConnections,
            Timeout = (int)Math.Ceiling(options.ConnectionWait.TotalSeconds),
            ApplicationName = "Console.Web",
        };
        return NpgsqlDataSource.Create(connection);
    }
}
