using System.Text.Json;
using Npgsql;
using OrderFlow.Platform.ReadModel;

namespace OrderFlow.Web.Live;

/// <summary>One projection batch committed by Console.Ingest (the payload of its PostgreSQL NOTIFY).</summary>
public sealed record ReadModelChange(int Events, int Orders, int Quarantined);

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
                connection.Notification += (_, e) => changes.Publish(Parse(e.Payload));
                await using (var listen = new NpgsqlCommand($"listen {ReadModelDb.ChangesChannel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                // Something may have changed while we were not listening.
                changes.Publish(new ReadModelChange(0, 0, 0));
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

    private static ReadModelChange Parse(string payload)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload);
            var root = doc.RootElement;
            return new ReadModelChange(root.GetProperty("events").GetInt32(), root.GetProperty("orders").GetInt32(), root.GetProperty("quarantined").GetInt32());
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return new ReadModelChange(0, 0, 0);
        }
    }
}
