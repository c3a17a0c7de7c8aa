using Confluent.Kafka;

namespace OrderFlow.Ingest.Consuming;

/// <summary>Records a consumer collected, prepared for their writer; their partitions' offsets advance with the batch.</summary>
public interface IConsumedBatch
{
    IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> Records { get; }
}

/// <summary>
/// One writer loop of a <see cref="PartitionedBatchConsumer{TBatch}"/>: writes the batches of its partitions, one at a time,
/// each with its offsets in one PostgreSQL transaction. The consumer decides what a failure leads to (retry, quarantine,
/// a re-read from the stored positions, or a loud stop); the lane says what its own failures mean.
/// </summary>
public abstract class BatchLane<TBatch> : IAsyncDisposable
    where TBatch : class, IConsumedBatch
{
    /// <summary>Writes the batch and its offsets in one transaction; throws when it was not committed.</summary>
    public abstract Task WriteAsync(TBatch batch, CancellationToken cancellationToken);

    /// <summary>Forgets what it holds of these partitions (assigned, revoked or lost, or a batch of them dropped).</summary>
    public virtual void Drop(IReadOnlyCollection<TopicPartition> partitions)
    {
    }

    /// <summary>A failure after which writing the same batch again, after a pause, is right (besides a transient PostgreSQL fault).</summary>
    public virtual bool IsRetryable(Exception failure) => false;

    /// <summary>A failure that says PostgreSQL refused some of the batch's data: <see cref="QuarantineAsync"/> is asked for the rest.</summary>
    public virtual bool IsRefusal(Exception failure) => false;

    /// <summary>
    /// After a refusal: the batch to write instead (the refused records moved to quarantine), or null when none of
    /// them is refused on its own, and the failure stops the worker.
    /// </summary>
    public virtual Task<TBatch?> QuarantineAsync(TBatch batch, Exception failure, CancellationToken cancellationToken) => Task.FromResult<TBatch?>(null);

    /// <summary>After a failed attempt, whatever failed: for example, the next attempt on a fresh connection.</summary>
    public virtual ValueTask ResetAsync() => ValueTask.CompletedTask;

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ResetAsync();
    }
}
