using System.Threading.Channels;
using Npgsql;
using OrderFlow.Platform.Workflow;
using OrderFlow.Web.Live;

namespace OrderFlow.Web.Workflow;

/// <summary>
/// Keeps Console.Web's <see cref="WorkflowCatalog"/> equal to the versions Console.Ingest stored (decision 0022): loaded at
/// start, and again whenever a change notification says the workflow changed (or that anything may have), so a new
/// version reaches the open pages without a restart. Until Ingest stored one, the configured definition stands in.
/// </summary>
public sealed class WorkflowCatalogRefresh(NpgsqlDataSource dataSource, WorkflowCatalog catalog, ReadModelChanges changes, ILogger<WorkflowCatalogRefresh> logger) : BackgroundService
{
    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var subscription = changes.Subscribe(change =>
        {
            if (change.Notification.Workflow > 0 || change.Notification.Unknown)
            {
                _changed.Writer.TryWrite(true);
            }

            return Task.CompletedTask;
        });
        _changed.Writer.TryWrite(true);
        await foreach (var _ in _changed.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                // Replaced even at the same version number: the configured stand-in is version 1 too.
                if (await WorkflowStore.LoadAsync(dataSource, stoppingToken) is { } versions)
                {
                    catalog.Replace(versions);
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                logger.LogWarning("Workflow versions not read, PostgreSQL unavailable: {Message}", ex.Message);
            }
        }
    }
}
