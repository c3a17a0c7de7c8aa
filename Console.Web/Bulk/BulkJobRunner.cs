using Npgsql;
using OrderFlow.Domain.Actions;
using OrderFlow.Web.Actions;

namespace OrderFlow.Web.Bulk;

/// <summary>
/// Works through running bulk jobs (decision 0021): each record on the one action path, in the job's order, no faster
/// than the job's rate, and never more than a second's worth ahead of what the outbox publisher delivered. Everything it
/// needs is in PostgreSQL, so after a Console.Web restart it picks running jobs up where they were; a record's action id
/// comes from the job and the dead letter, so none is published twice. A PostgreSQL advisory lock per job keeps a second
/// Console.Web from running the same job at the same time.
/// </summary>
public sealed class BulkJobRunner(NpgsqlDataSource dataSource, BulkJobStore store, OperatorActions actions, TimeProvider clock, ILogger<BulkJobRunner> logger)
    : BackgroundService
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan DeliveryWait = TimeSpan.FromMilliseconds(100);
    private readonly Dictionary<Guid, Task> _running = [];
    private volatile TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        store.Changed += Wake;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var wake = _wake.Task;
                try
                {
                    foreach (var id in await RunningJobsAsync(stoppingToken))
                    {
                        if (!_running.TryGetValue(id, out var task) || task.IsCompleted)
                        {
                            _running[id] = RunJobAsync(id, stoppingToken);
                        }
                    }
                }
                catch (NpgsqlException ex) when (ex.IsTransient)
                {
                    logger.LogWarning("Bulk jobs paused, PostgreSQL unavailable: {Message}", ex.Message);
                }

                foreach (var done in _running.Where(r => r.Value.IsCompleted).Select(r => r.Key).ToList())
                {
                    _running.Remove(done);
                }

                await Task.WhenAny(wake, Task.Delay(Poll, clock, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            store.Changed -= Wake;
            await Task.WhenAll(_running.Values.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        }
    }

    private void Wake() => Interlocked.Exchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private async Task<List<Guid>> RunningJobsAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("select id from bulk_jobs where state = 'running' order by created_at");
        var ids = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    private async Task RunJobAsync(Guid jobId, CancellationToken ct)
    {
        await Task.Yield();
        try
        {
            await using var held = await dataSource.OpenConnectionAsync(ct);
            await using (var tryLock = new NpgsqlCommand("select pg_try_advisory_lock(hashtextextended('bulk-job:' || @id::text, 0))", held))
            {
                tryLock.Parameters.AddWithValue("id", jobId);
                if (await tryLock.ExecuteScalarAsync(ct) is not true)
                {
                    return;
                }
            }

            if (await BulkJobStore.RunFactsAsync(held, jobId, ct) is not { } job)
            {
                return;
            }

            logger.LogInformation("Bulk job {Job}: {Kind} at {Rate}/s", jobId, job.Kind, job.Rate);
            var runStart = clock.GetUtcNow();
            var taken = 0;
            while (!ct.IsCancellationRequested)
            {
                if (await NextAsync(held, jobId, ct) is not { } next)
                {
                    if (await store.FinishAsync(jobId, ct))
                    {
                        logger.LogInformation("Bulk job {Job} finished", jobId);
                    }

                    return;
                }

                // The cap is on what reaches Kafka: while a second's worth waits for the outbox publisher, take nothing more.
                if (await UndeliveredAsync(held, jobId, next.Seq, job.Rate, ct) >= job.Rate)
                {
                    await Task.Delay(DeliveryWait, clock, ct);
                    (runStart, taken) = (clock.GetUtcNow(), 0);
                    continue;
                }

                var due = BulkJobs.Due(runStart, taken, job.Rate);
                if (due > clock.GetUtcNow())
                {
                    await Task.Delay(due - clock.GetUtcNow(), clock, ct);
                }

                var step = new BulkRecordStep(jobId, next.Seq, next.DeadLetterId, job.Kind, job.By, job.Reason, job.Force, job.Confirmed);
                if (await actions.TakeBulkRecordAsync(step, ct) is null)
                {
                    logger.LogInformation("Bulk job {Job} stopped: no longer running", jobId);
                    return;
                }

                taken++;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (NpgsqlException ex) when (ex.IsTransient)
        {
            // The job stays running in PostgreSQL; the next poll takes it up again.
            logger.LogWarning("Bulk job {Job} interrupted, PostgreSQL unavailable: {Message}", jobId, ex.Message);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Bulk job {Job} failed; it stays running and is retried", jobId);
            await Task.Delay(Poll, clock, CancellationToken.None);
        }
    }

    private static async Task<(int Seq, long DeadLetterId)?> NextAsync(NpgsqlConnection connection, Guid jobId, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("select seq, dead_letter_id from bulk_job_records where job_id = @id and state = 'pending' order by seq limit 1", connection);
        command.Parameters.AddWithValue("id", jobId);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetInt32(0), reader.GetInt64(1)) : null;
    }

    private static async Task<long> UndeliveredAsync(NpgsqlConnection connection, Guid jobId, int seq, int rate, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            """
            select count(*) from bulk_job_records r join outbox o on o.action_id = r.action_id and o.published_at is null
            where r.job_id = @id and r.seq >= @from and r.seq < @seq
            """, connection);
        command.Parameters.AddWithValue("id", jobId);
        command.Parameters.AddWithValue("from", seq - (4 * rate));
        command.Parameters.AddWithValue("seq", seq);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }
}
