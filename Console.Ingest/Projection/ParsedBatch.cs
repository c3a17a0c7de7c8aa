using Confluent.Kafka;
using OrderFlow.Domain.Events;
using OrderFlow.Ingest.Consuming;

namespace OrderFlow.Ingest.Projection;

public readonly record struct ParsedEvent(ConsumeResult<byte[]?, byte[]?> Record, OperationalEvent Event);

public readonly record struct QuarantinedRecord(ConsumeResult<byte[]?, byte[]?> Record, string Error);

/// <summary>The records of one batch, read as events or poison; parsed on the consume thread so the writer only folds and writes.</summary>
public sealed class ParsedBatch : IConsumedBatch
{
    private ParsedBatch(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> records) => Records = records;

    /// <summary>Every record, in consume order: their partitions' offsets advance with the batch.</summary>
    public IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> Records { get; }

    public List<ParsedEvent> Events { get; } = [];

    public List<QuarantinedRecord> Quarantined { get; } = [];

    public static ParsedBatch Parse(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> records)
    {
        var batch = new ParsedBatch(records);
        foreach (var record in records)
        {
            if (!OperationalEventCodec.TryParse(record.Message.Key, record.Message.Value, out var e, out var error))
            {
                batch.Quarantined.Add(new QuarantinedRecord(record, error));
            }
            else
            {
                // A step the workflow does not name is still an event: the fold flags it unplanned-step (decision 0020).
                batch.Events.Add(new ParsedEvent(record, e!));
            }
        }

        return batch;
    }

    /// <summary>The same records with these events moved to quarantine (PostgreSQL refused their values).</summary>
    public ParsedBatch WithQuarantined(IReadOnlyList<(ParsedEvent Event, string Error)> refused)
    {
        var moved = refused.Select(r => r.Event.Record).ToHashSet(ReferenceEqualityComparer.Instance);
        var batch = new ParsedBatch(Records);
        batch.Events.AddRange(Events.Where(e => !moved.Contains(e.Record)));
        batch.Quarantined.AddRange(Quarantined);
        batch.Quarantined.AddRange(refused.Select(r => new QuarantinedRecord(r.Event.Record, r.Error)));
        return batch;
    }
}
