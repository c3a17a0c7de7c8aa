using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Npgsql;
using OrderFlow.Platform.Workflow;

namespace OrderFlow.Ingest.Workflow;

/// <summary>
/// Keeps the workflow in force (decision 0022): at start it stores the configured definition as a version (unless it is
/// the latest already) and loads every version into the <see cref="WorkflowCatalog"/> before the projection folds
/// anything; afterwards each change of the configuration (the workflow file, appsettings) is read and validated like at
/// start. A valid change is stored as the next version and takes effect for orders placed from then on; a bad one is
/// refused with one line (logged once, recorded for the console) and the version in force keeps running.
/// </summary>
public sealed class WorkflowReload(
    IConfiguration configuration,
    NpgsqlDataSource dataSource,
    WorkflowCatalog catalog,
    IOptions<WorkflowOptions> configured,
    TimeProvider clock,
    ILogger<WorkflowReload> logger) : BackgroundService
{
    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private string? _lastRefusal;
    private IDisposable? _watch;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var (version, added) = await WorkflowStore.StoreAsync(dataSource, configured.Value.ToDefinition(), clock.GetUtcNow(), cancellationToken);
        await LoadAsync(cancellationToken);
        logger.LogInformation("Workflow version {Version} in force{New}", version, added ? " (stored now)" : "");
        _watch = ChangeToken.OnChange(configuration.GetReloadToken, () => _changed.Writer.TryWrite(true));
        await base.StartAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _watch?.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var _ in _changed.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await ReloadAsync(stoppingToken);
            }
            catch (NpgsqlException ex) when (ex.IsTransient)
            {
                // Not lost: the next change, or the next start, stores it.
                logger.LogWarning("Workflow change not stored, PostgreSQL unavailable: {Message}", ex.Message);
            }
        }
    }

    /// <summary>Reads the configuration as it is now: stores it as a new version, or refuses it.</summary>
    public async Task<WorkflowReloadResult> ReloadAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var refusal = Validate(out var options);
        if (refusal is not null)
        {
            if (refusal != _lastRefusal)
            {
                logger.LogError("Workflow change refused, version {Version} stays in force: {Reason}", catalog.Versions.Current.Version, refusal);
                _lastRefusal = refusal;
            }

            await WorkflowStore.RefuseAsync(dataSource, refusal, now, cancellationToken);
            return new WorkflowReloadResult(catalog.Versions.Current.Version, false, refusal);
        }

        _lastRefusal = null;
        var (version, added) = await WorkflowStore.StoreAsync(dataSource, options!.ToDefinition(), now, cancellationToken);
        await LoadAsync(cancellationToken);
        if (added)
        {
            logger.LogInformation("Workflow version {Version} in force from {At:O}: {Changes}", version, now, string.Join("; ", catalog.Versions.Current.Changes));
        }

        return new WorkflowReloadResult(version, added, null);
    }

    private string? Validate(out WorkflowOptions? options)
    {
        options = null;
        var section = configuration.GetSection(WorkflowOptions.Section);
        if (WorkflowFile.Problem(WorkflowFile.PathOf(section["File"])) is { } problem)
        {
            return "Workflow: " + problem;
        }

        try
        {
            options = section.Get<WorkflowOptions>() ?? new WorkflowOptions();
        }
        catch (InvalidOperationException ex)
        {
            // The binder's "Failed to convert configuration value at 'Workflow:Steps:2:Sla' to type 'System.TimeSpan'."
            return ex.Message;
        }

        var result = new WorkflowOptionsValidator().Validate(null, options);
        return result.Failed ? result.Failures.First() : null;
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        if (await WorkflowStore.LoadAsync(dataSource, cancellationToken) is { } versions)
        {
            catalog.Replace(versions);
        }
    }
}

/// <summary>What a reload did: the version in force, whether it is new, or why the change was refused.</summary>
public sealed record WorkflowReloadResult(int Version, bool Added, string? Refused);
