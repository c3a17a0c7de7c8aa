using Npgsql;
using OrderFlow.Domain.Workflow;

namespace OrderFlow.Ingest.Projection;

/// <summary>
/// The workflow's steps and what each runs after, into workflow_steps: the order_steps view derives an in-flight order's
/// step times from its events with them (decision 0014). Idempotent; instances with the same workflow agree.
/// </summary>
public static class WorkflowSteps
{
    public static async Task StoreAsync(NpgsqlDataSource dataSource, WorkflowDefinition workflow, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection, transaction);
        var remove = new NpgsqlBatchCommand("delete from workflow_steps where step <> all(@steps)");
        remove.Parameters.AddWithValue("steps", workflow.Steps.Select(s => s.Name).ToArray());
        batch.BatchCommands.Add(remove);
        for (var i = 0; i < workflow.Steps.Count; i++)
        {
            var store = new NpgsqlBatchCommand(
                "insert into workflow_steps (step, position, after) values (@step, @position, @after) on conflict (step) do update set position = excluded.position, after = excluded.after");
            store.Parameters.AddWithValue("step", workflow.Steps[i].Name);
            store.Parameters.AddWithValue("position", i);
            store.Parameters.AddWithValue("after", workflow.Steps[i].After.ToArray());
            batch.BatchCommands.Add(store);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }
}
