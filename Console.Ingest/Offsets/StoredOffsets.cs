using Confluent.Kafka;
using Npgsql;

namespace OrderFlow.Ingest.Offsets;

/// <summary>Another writer already stored these offsets: this instance lost the partition in a rebalance.</summary>
public sealed class PartitionOwnershipLostException(TopicPartition partition)
    : Exception($"offsets of {partition} were advanced by another consumer; the batch was rolled back");

/// <summary>
/// One consumer group's positions in consumer_offsets, advanced in the same transaction as the rows they cover,
/// and where its consumer resumes (docs/decisions/0006). Shared by the projection and the dead-letter store.
/// </summary>
public sealed class StoredOffsets(NpgsqlDataSource dataSource, string group)
{
    public string Group { get; } = group;

    /// <summary>The positions stored with the group's last write, per partition.</summary>
    public async Task<IReadOnlyDictionary<TopicPartition, long>> ReadAsync(IEnumerable<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        var list = partitions.ToList();
        await using var command = dataSource.CreateCommand(
            "select topic, partition, next_offset from consumer_offsets where consumer_group = @group and topic = any(@topics)");
        command.Parameters.AddWithValue("group", Group);
        command.Parameters.AddWithValue("topics", list.Select(p => p.Topic).Distinct().ToArray());
        var result = new Dictionary<TopicPartition, long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var tp = new TopicPartition(reader.GetString(0), reader.GetInt32(1));
            if (list.Contains(tp))
            {
                result[tp] = reader.GetInt64(2);
            }
        }

        return result;
    }

    /// <summary>Forgets the stored position of a partition whose log was recreated.</summary>
    public async Task ResetAsync(TopicPartition partition, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("delete from consumer_offsets where consumer_group = @group and topic = @topic and partition = @partition");
        command.Parameters.AddWithValue("group", Group);
        command.Parameters.AddWithValue("topic", partition.Topic);
        command.Parameters.AddWithValue("partition", partition.Partition.Value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Moves each partition of the batch past its last record, inside the caller's transaction; throws when another consumer got there first.</summary>
    public async Task AdvanceAsync(NpgsqlConnection connection, IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlBatch(connection) { BatchCommands = { Advance(batch, now, out var partitions) } };
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await EnsureAdvancedAsync(reader, partitions, cancellationToken);
    }

    /// <summary>
    /// The guarded advance of every partition of the batch as one statement, to run first in the batch's transaction
    /// (it locks the partitions' rows, so whatever the transaction reads next is what their last writer left).
    /// A row moves only while its stored position is not past the batch's first record of that partition.
    /// Read its result with <see cref="EnsureAdvancedAsync"/>.
    /// </summary>
    public NpgsqlBatchCommand Advance(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, DateTimeOffset now, out IReadOnlyList<TopicPartition> partitions)
    {
        // A batch spans a few partitions: a short list, searched partition number first (a record's TopicPartition
        // property is a new object on every read, and hashing its topic for every record cost more than the search).
        var ranges = new List<(string Topic, int Partition, long First, long Last)>();
        foreach (var record in batch)
        {
            var offset = record.Offset.Value;
            var partition = record.Partition.Value;
            var i = ranges.Count - 1;
            while (i >= 0 && (ranges[i].Partition != partition || ranges[i].Topic != record.Topic))
            {
                i--;
            }

            if (i < 0)
            {
                ranges.Add((record.Topic, partition, offset, offset));
            }
            else
            {
                var r = ranges[i];
                ranges[i] = r with { First = Math.Min(r.First, offset), Last = Math.Max(r.Last, offset) };
            }
        }

        var sorted = ranges.OrderBy(r => r.Topic, StringComparer.Ordinal).ThenBy(r => r.Partition).ToList();
        partitions = [.. sorted.Select(r => new TopicPartition(r.Topic, r.Partition))];
        // Rows are locked in (topic, partition) order, so two writers never wait for each other in a cycle.
        var command = new NpgsqlBatchCommand(
            """
            insert into consumer_offsets as o (consumer_group, topic, partition, next_offset, updated_at)
            select @group, b.topic, b.partition, b.last + 1, @now
            from unnest(@topics, @partitions, @firsts, @lasts) as b(topic, partition, first, last)
            order by b.topic, b.partition
            on conflict (consumer_group, topic, partition) do update
                set next_offset = excluded.next_offset, updated_at = excluded.updated_at
                where o.next_offset <= (
                    select b.first from unnest(@topics, @partitions, @firsts) as b(topic, partition, first)
                    where b.topic = excluded.topic and b.partition = excluded.partition)
            returning o.topic, o.partition
            """);
        command.Parameters.AddWithValue("group", Group);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("topics", sorted.Select(r => r.Topic).ToArray());
        command.Parameters.AddWithValue("partitions", sorted.Select(r => r.Partition).ToArray());
        command.Parameters.AddWithValue("firsts", sorted.Select(r => r.First).ToArray());
        command.Parameters.AddWithValue("lasts", sorted.Select(r => r.Last).ToArray());
        return command;
    }

    /// <summary>Reads the result of <see cref="Advance"/>; throws PartitionOwnershipLostException for a partition that did not move.</summary>
    public static async Task EnsureAdvancedAsync(NpgsqlDataReader reader, IReadOnlyList<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        var moved = new HashSet<TopicPartition>();
        while (await reader.ReadAsync(cancellationToken))
        {
            moved.Add(new TopicPartition(reader.GetString(0), reader.GetInt32(1)));
        }

        foreach (var partition in partitions)
        {
            if (!moved.Contains(partition))
            {
                throw new PartitionOwnershipLostException(partition);
            }
        }
    }

    /// <summary>Where to resume each newly assigned partition: exactly after the last batch committed to PostgreSQL.</summary>
    public IEnumerable<TopicPartitionOffset> ResumePositions(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartition> partitions, ILogger logger, CancellationToken cancellationToken)
    {
        var stored = ReadAsync(partitions, cancellationToken).GetAwaiter().GetResult();
        var positions = new List<TopicPartitionOffset>();
        foreach (var tp in partitions)
        {
            if (!stored.TryGetValue(tp, out var offset))
            {
                positions.Add(new TopicPartitionOffset(tp, Offset.Beginning));
                continue;
            }

            var end = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High.Value;
            if (offset > end)
            {
                // The log is shorter than what we already read: the topic was recreated (or a fresh embedded broker).
                logger.LogWarning("Stored position {Offset} of {Partition} is beyond its end ({End}): the topic was recreated; reading it from the beginning", offset, tp, end);
                ResetAsync(tp, cancellationToken).GetAwaiter().GetResult();
                positions.Add(new TopicPartitionOffset(tp, Offset.Beginning));
                continue;
            }

            positions.Add(new TopicPartitionOffset(tp, new Offset(offset)));
        }

        logger.LogInformation("{Group} assigned {Partitions}", Group, string.Join(", ", positions.Select(p => $"{p.Topic}[{p.Partition.Value}]@{p.Offset}")));
        return positions;
    }

    /// <summary>After a lost partition: every assigned partition goes back to its stored position.</summary>
    public Task SeekToStoredAsync(IConsumer<byte[]?, byte[]?> consumer, CancellationToken cancellationToken) =>
        SeekToStoredAsync(consumer, consumer.Assignment, cancellationToken);

    /// <summary>These partitions go back to their stored positions.</summary>
    public async Task SeekToStoredAsync(IConsumer<byte[]?, byte[]?> consumer, IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        if (partitions.Count == 0)
        {
            return;
        }

        var stored = await ReadAsync(partitions, cancellationToken);
        foreach (var tp in partitions)
        {
            consumer.Seek(new TopicPartitionOffset(tp, stored.TryGetValue(tp, out var o) ? new Offset(o) : Offset.Beginning));
        }
    }
}
