using Microsoft.EntityFrameworkCore;

namespace OrderFlow.Platform.ReadModel;

/// <summary>The PostgreSQL read model. Console.Ingest writes it; Console.Web reads it. Schema changes go through migrations.</summary>
public sealed class ReadModelDb(DbContextOptions<ReadModelDb> options) : DbContext(options)
{
    /// <summary>Channel of the PostgreSQL NOTIFY every read-model writer sends in its transaction (payload: <see cref="ChangeNotification"/>).</summary>
    public const string ChangesChannel = "order_flow_changes";

    public DbSet<OrderRow> Orders => Set<OrderRow>();

    public DbSet<OrderEventRow> OrderEvents => Set<OrderEventRow>();

    public DbSet<OrderStepRow> OrderSteps => Set<OrderStepRow>();

    public DbSet<ConsumerOffsetRow> ConsumerOffsets => Set<ConsumerOffsetRow>();

    public DbSet<QuarantinedRecordRow> QuarantinedRecords => Set<QuarantinedRecordRow>();

    public DbSet<SlaBreachRow> SlaBreaches => Set<SlaBreachRow>();

    public DbSet<OutboxRow> Outbox => Set<OutboxRow>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<OrderRow>(e =>
        {
            e.ToTable("orders");
            e.HasKey(o => o.OrderId);
            e.Property(o => o.OrderId).HasColumnName("order_id");
            e.Property(o => o.Status).HasColumnName("status");
            e.Property(o => o.Positions).HasColumnName("positions");
            e.Property(o => o.LastStep).HasColumnName("last_step");
            e.Property(o => o.LastFailure).HasColumnName("last_failure");
            e.Property(o => o.PlacedAt).HasColumnName("placed_at");
            e.Property(o => o.LastEventAt).HasColumnName("last_event_at");
            e.Property(o => o.FirstSeenAt).HasColumnName("first_seen_at");
            e.Property(o => o.UpdatedAt).HasColumnName("updated_at");
            e.Property(o => o.EventCount).HasColumnName("event_count");
            e.Property(o => o.FlaggedCount).HasColumnName("flagged_count");
            e.Property(o => o.SlaState).HasColumnName("sla_state");
            e.Property(o => o.SlaScope).HasColumnName("sla_scope");
            e.Property(o => o.SlaAtRiskAt).HasColumnName("sla_at_risk_at");
            e.Property(o => o.SlaDueAt).HasColumnName("sla_due_at");
        });

        modelBuilder.Entity<OrderEventRow>(e =>
        {
            e.ToTable("order_events");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id").UseIdentityAlwaysColumn();
            e.Property(x => x.EventId).HasColumnName("event_id");
            e.Property(x => x.OrderId).HasColumnName("order_id");
            e.Property(x => x.Step).HasColumnName("step");
            e.Property(x => x.Service).HasColumnName("service");
            e.Property(x => x.Outcome).HasColumnName("outcome");
            e.Property(x => x.Reason).HasColumnName("reason");
            e.Property(x => x.OccurredAt).HasColumnName("occurred_at");
            e.Property(x => x.IngestedAt).HasColumnName("ingested_at");
            e.Property(x => x.Topic).HasColumnName("topic");
            e.Property(x => x.Partition).HasColumnName("partition");
            e.Property(x => x.Offset).HasColumnName("offset");
            e.Property(x => x.Flags).HasColumnName("flags");
            e.Property(x => x.TraceId).HasColumnName("trace_id");
            e.Property(x => x.Attributes).HasColumnName("attributes").HasColumnType("jsonb");
            e.HasIndex(x => new { x.Topic, x.Partition, x.Offset });
            e.HasIndex(x => new { x.OrderId, x.OccurredAt });
        });

        modelBuilder.Entity<OrderStepRow>(e =>
        {
            e.ToView("order_steps");
            e.HasKey(x => new { x.OrderId, x.Step });
            e.Property(x => x.OrderId).HasColumnName("order_id");
            e.Property(x => x.Step).HasColumnName("step");
            e.Property(x => x.ReadyAt).HasColumnName("ready_at");
            e.Property(x => x.SucceededAt).HasColumnName("succeeded_at");
            e.Property(x => x.DurationMs).HasColumnName("duration_ms");
        });

        modelBuilder.Entity<ConsumerOffsetRow>(e =>
        {
            e.ToTable("consumer_offsets");
            e.HasKey(x => new { x.ConsumerGroup, x.Topic, x.Partition });
            e.Property(x => x.ConsumerGroup).HasColumnName("consumer_group");
            e.Property(x => x.Topic).HasColumnName("topic");
            e.Property(x => x.Partition).HasColumnName("partition");
            e.Property(x => x.NextOffset).HasColumnName("next_offset");
            e.Property(x => x.UpdatedAt).HasColumnName("updated_at");
        });

        modelBuilder.Entity<SlaBreachRow>(e =>
        {
            e.ToTable("sla_breaches");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id").UseIdentityAlwaysColumn();
            e.Property(x => x.OrderId).HasColumnName("order_id");
            e.Property(x => x.Scope).HasColumnName("scope");
            e.Property(x => x.DueAt).HasColumnName("due_at");
            e.Property(x => x.DetectedAt).HasColumnName("detected_at");
        });

        modelBuilder.Entity<OutboxRow>(e =>
        {
            e.ToTable("outbox");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id").UseIdentityAlwaysColumn();
            e.Property(x => x.Topic).HasColumnName("topic");
            e.Property(x => x.Key).HasColumnName("key");
            e.Property(x => x.Value).HasColumnName("value");
            e.Property(x => x.Headers).HasColumnName("headers").HasColumnType("jsonb");
            e.Property(x => x.DedupeKey).HasColumnName("dedupe_key");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.PublishedAt).HasColumnName("published_at");
            e.Property(x => x.Attempts).HasColumnName("attempts");
            e.Property(x => x.LastError).HasColumnName("last_error");
        });

        modelBuilder.Entity<QuarantinedRecordRow>(e =>
        {
            e.ToTable("quarantined_records");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id").UseIdentityAlwaysColumn();
            e.Property(x => x.Topic).HasColumnName("topic");
            e.Property(x => x.Partition).HasColumnName("partition");
            e.Property(x => x.Offset).HasColumnName("offset");
            e.Property(x => x.Key).HasColumnName("key");
            e.Property(x => x.Value).HasColumnName("value");
            e.Property(x => x.Headers).HasColumnName("headers").HasColumnType("jsonb");
            e.Property(x => x.Error).HasColumnName("error");
            e.Property(x => x.ReceivedAt).HasColumnName("received_at");
            e.HasIndex(x => new { x.Topic, x.Partition, x.Offset });
            e.HasIndex(x => x.ReceivedAt);
        });
    }
}

public sealed class OrderRow
{
    public required string OrderId { get; set; }

    public required string Status { get; set; }

    public string[] Positions { get; set; } = [];

    public string? LastStep { get; set; }

    public string? LastFailure { get; set; }

    public DateTimeOffset? PlacedAt { get; set; }

    public DateTimeOffset LastEventAt { get; set; }

    public DateTimeOffset FirstSeenAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public int EventCount { get; set; }

    public int FlaggedCount { get; set; }

    /// <summary>
    /// on-track or at-risk as of the order's last event, or breached (recorded by the SLA watcher). Readers also count an
    /// in-flight order at-risk once <see cref="SlaAtRiskAt"/> has passed: nobody writes that transition (decision 0011).
    /// </summary>
    public string SlaState { get; set; } = "on-track";

    /// <summary>The clock with the earliest deadline: a step name or "end-to-end".</summary>
    public string? SlaScope { get; set; }

    public DateTimeOffset? SlaAtRiskAt { get; set; }

    public DateTimeOffset? SlaDueAt { get; set; }
}

public sealed class SlaBreachRow
{
    public long Id { get; set; }

    public required string OrderId { get; set; }

    public required string Scope { get; set; }

    public DateTimeOffset DueAt { get; set; }

    public DateTimeOffset DetectedAt { get; set; }
}

/// <summary>A record to publish to Kafka, written in the same transaction as the change that caused it.</summary>
public sealed class OutboxRow
{
    public long Id { get; set; }

    public required string Topic { get; set; }

    public required string Key { get; set; }

    public required byte[] Value { get; set; }

    public required string Headers { get; set; }

    /// <summary>One row per effect (for example "expire:ORD-1"): asking twice publishes once.</summary>
    public required string DedupeKey { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? PublishedAt { get; set; }

    public int Attempts { get; set; }

    public string? LastError { get; set; }
}

public sealed class OrderEventRow
{
    public long Id { get; set; }

    public Guid EventId { get; set; }

    public required string OrderId { get; set; }

    public required string Step { get; set; }

    public required string Service { get; set; }

    public required string Outcome { get; set; }

    public string? Reason { get; set; }

    public DateTimeOffset OccurredAt { get; set; }

    public DateTimeOffset IngestedAt { get; set; }

    public required string Topic { get; set; }

    public int Partition { get; set; }

    public long Offset { get; set; }

    public string[] Flags { get; set; } = [];

    public string? TraceId { get; set; }

    public required string Attributes { get; set; }
}

/// <summary>A workflow step an order passed: from when it could start to its first success (event time).</summary>
public sealed class OrderStepRow
{
    public required string OrderId { get; set; }

    public required string Step { get; set; }

    public DateTimeOffset? ReadyAt { get; set; }

    public DateTimeOffset SucceededAt { get; set; }

    public double? DurationMs { get; set; }
}

public sealed class ConsumerOffsetRow
{
    public required string ConsumerGroup { get; set; }

    public required string Topic { get; set; }

    public int Partition { get; set; }

    public long NextOffset { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>A record that could not be read as an operational event: kept byte for byte with the reason.</summary>
public sealed class QuarantinedRecordRow
{
    public long Id { get; set; }

    public required string Topic { get; set; }

    public int Partition { get; set; }

    public long Offset { get; set; }

    public byte[]? Key { get; set; }

    public byte[]? Value { get; set; }

    public required string Headers { get; set; }

    public required string Error { get; set; }

    public DateTimeOffset ReceivedAt { get; set; }
}
