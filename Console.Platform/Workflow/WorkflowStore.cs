using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Npgsql;
using NpgsqlTypes;
using OrderFlow.Domain.Workflow;
using OrderFlow.Platform.ReadModel;

namespace OrderFlow.Platform.Workflow;

/// <summary>A change Console.Ingest refused, still unresolved (the workflow in force is the one before it).</summary>
public sealed record WorkflowRefusal(string Reason, DateTimeOffset FirstRefusedAt, DateTimeOffset LastRefusedAt);

/// <summary>
/// The workflow versions in PostgreSQL (workflow_versions, workflow_steps per version, workflow_refusals): Console.Ingest
/// stores, both apps load (decision 0022). Each write sends a change notification, so Console.Web loads them again.
/// </summary>
public static class WorkflowStore
{
    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    public static string Serialize(WorkflowDefinition definition) => JsonSerializer.Serialize(WorkflowOptions.From(definition), Json);

    public static WorkflowDefinition Deserialize(string json) =>
        (JsonSerializer.Deserialize<WorkflowOptions>(json, Json) ?? throw new JsonException("a stored workflow version is empty")).ToDefinition();

    public static string Hash(WorkflowDefinition definition) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Serialize(definition))));

    /// <summary>
    /// Stores the definition as the next version unless it is the latest one already (restarts add nothing); returns the
    /// version in force and whether it is new. The table lock makes two instances storing at once take turns.
    /// </summary>
    public static async Task<(int Version, bool Added)> StoreAsync(NpgsqlDataSource dataSource, WorkflowDefinition definition, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var hash = Hash(definition);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockTable = new NpgsqlCommand("lock table workflow_versions in share row exclusive mode", connection, transaction))
        {
            await lockTable.ExecuteNonQueryAsync(cancellationToken);
        }

        int latest;
        string? latestHash;
        await using (var read = new NpgsqlCommand("select version, content_hash from workflow_versions order by version desc limit 1", connection, transaction))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            (latest, latestHash) = await reader.ReadAsync(cancellationToken) ? (reader.GetInt32(0), reader.GetString(1)) : (0, null);
        }

        var added = latestHash != hash;
        var version = added ? latest + 1 : latest;
        await using var batch = new NpgsqlBatch(connection, transaction);
        if (added)
        {
            var insert = new NpgsqlBatchCommand("insert into workflow_versions (version, definition, content_hash, effective_at) values (@version, @definition, @hash, @now)");
            insert.Parameters.AddWithValue("version", version);
            insert.Parameters.Add(new NpgsqlParameter("definition", NpgsqlDbType.Jsonb) { Value = Serialize(definition) });
            insert.Parameters.AddWithValue("hash", hash);
            insert.Parameters.AddWithValue("now", now);
            batch.BatchCommands.Add(insert);

            // The steps of this version, for order_steps (decision 0014); rows of version 1 may predate the versions.
            for (var i = 0; i < definition.Steps.Count; i++)
            {
                var step = new NpgsqlBatchCommand(
                    "insert into workflow_steps (version, step, position, after) values (@version, @step, @position, @after) on conflict (version, step) do update set position = excluded.position, after = excluded.after");
                step.Parameters.AddWithValue("version", version);
                step.Parameters.AddWithValue("step", definition.Steps[i].Name);
                step.Parameters.AddWithValue("position", i);
                step.Parameters.AddWithValue("after", definition.Steps[i].After.ToArray());
                batch.BatchCommands.Add(step);
            }

            var stale = new NpgsqlBatchCommand("delete from workflow_steps where version = @version and step <> all(@steps)");
            stale.Parameters.AddWithValue("version", version);
            stale.Parameters.AddWithValue("steps", definition.Steps.Select(s => s.Name).ToArray());
            batch.BatchCommands.Add(stale);
        }

        // The file (or configuration) is good again: earlier refusals are over.
        var resolve = new NpgsqlBatchCommand("update workflow_refusals set resolved_at = @now where resolved_at is null");
        resolve.Parameters.AddWithValue("now", now);
        batch.BatchCommands.Add(resolve);
        batch.BatchCommands.Add(new ChangeNotification { Workflow = 1 }.Command());
        await batch.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (version, added);
    }

    /// <summary>Records a refused change (once per reason, its last time kept) and tells the console.</summary>
    public static async Task RefuseAsync(NpgsqlDataSource dataSource, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        var refuse = new NpgsqlBatchCommand(
            """
            insert into workflow_refusals (reason, first_refused_at, last_refused_at) values (@reason, @now, @now)
            on conflict (reason) do update set last_refused_at = excluded.last_refused_at, resolved_at = null
            """);
        refuse.Parameters.AddWithValue("reason", reason);
        refuse.Parameters.AddWithValue("now", now);
        batch.BatchCommands.Add(refuse);
        batch.BatchCommands.Add(new ChangeNotification { Workflow = 1 }.Command());
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Every stored version with what changed from the one before; null while none is stored.</summary>
    public static async Task<WorkflowVersions?> LoadAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("select version, definition::text, effective_at from workflow_versions order by version");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var versions = new List<WorkflowVersion>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var definition = Deserialize(reader.GetString(1));
            versions.Add(new WorkflowVersion(reader.GetInt32(0), definition, reader.GetFieldValue<DateTimeOffset>(2))
            {
                Changes = versions.Count == 0 ? [] : WorkflowChanges.Between(versions[^1].Definition, definition),
            });
        }

        return versions.Count == 0 ? null : new WorkflowVersions(versions);
    }

    /// <summary>The latest refusal not resolved by a good change since, if any.</summary>
    public static async Task<WorkflowRefusal?> OpenRefusalAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "select reason, first_refused_at, last_refused_at from workflow_refusals where resolved_at is null order by last_refused_at desc limit 1");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new WorkflowRefusal(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetFieldValue<DateTimeOffset>(2))
            : null;
    }
}
