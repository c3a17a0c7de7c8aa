using Npgsql;
using OrderFlow.Platform.ReadModel;

namespace OrderFlow.Web.Live;

/// <summary>One write committed by Console.Ingest (the payload of its PostgreSQL NOTIFY, read by <see cref="ChangeNotification.Parse"/>).</summary>
public sealed record ReadModelChange(int Events, int Orders, int Quarantined)
{
    public int DeadLetters => Notification.DeadLetters;

    /// <summary>Everything the notification says: the changed orders' ids, dead letters, SLA, lag, actions.</summary>
    public ChangeNotification Notification { get; init; } = ChangeNotification.Anything;

    public static ReadModelChange From(ChangeNotification notification) =>
        new(notification.Events, notification.Orders, notification.Quarantined) { Notification = notification };
}

/// <summary>Fans read-model changes out to the open screens. Components subscribe after first render and dispose the subscription.</summary>
public sealed class ReadModelChanges
{
    private readonly Lock _gate = new();
    private ImmutableHandlers _handlers = new([]);

    public IDisposable Subscribe(Func<ReadModelChange, Task> handler)
    {
        lock (_gate)
        {
            _handlers = new([.. _handlers.Items, handler]);
        }

        return new Subscription(this, handler);
    }

    public void Publish(ReadModelChange change)
    {
        foreach (var handler in _handlers.Items)
        {
            _ = handler(change);
        }
    }

    private void Unsubscribe(Func<ReadModelChange, Task> handler)
    {
        lock (_gate)
        {
            _handlers = new(_handlers.Items.Where(h => h != handler).ToArray());
        }
    }

    private sealed record ImmutableHandlers(Func<ReadModelChange, Task>[] Items);

    private sealed class Subscription(ReadModelChanges owner, Func<ReadModelChange, Task> handler) : IDisposable
    {
        public void Dispose() => owner.Unsubscribe(handler);
    }
}

/// <summary>LISTENs on the read model's change channel and republishes each NOTIFY to ReadModelChanges.</summary>
public sealed class ReadModelChangeListener(NpgsqlDataSource dataSource, ReadModelChanges changes, ILogger<ReadModelChangeListener> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) => changes.Publish(ReadModelChange.From(ChangeNotification.Parse(e.Payload)));
                await using (var listen = new NpgsqlCommand($"listen {ReadModelDb.ChangesChannel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                // Something may have changed while we were not listening.
                changes.Publish(ReadModelChange.From(ChangeNotification.Anything));
                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or IOException)
            {
                logger.LogWarning("Live updates paused, PostgreSQL listen failed: {Message}", ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
        }
    }
}
