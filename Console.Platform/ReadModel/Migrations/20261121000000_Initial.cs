using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>
/// Migrations are written by hand in SQL: the EF design-time package cannot be restored here (docs/decisions/0005).
/// The ReadModelSchemaTests check that every entity maps onto the migrated schema.
/// </summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261121000000_Initial")]
public sealed class Initial : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.Sql("""
            create table orders (
                order_id       text primary key,
                status         text not null,
                positions      text[] not null default '{}',
                last_step      text,
                last_failure   text,
                placed_at      timestamptz,
                last_event_at  timestamptz not null,
                first_seen_at  timestamptz not null,
                updated_at     timestamptz not null,
                event_count    integer not null,
                flagged_count  integer not null default 0,
                state          jsonb not null
            );
            create index ix_orders_updated_at on orders (updated_at desc);
            create index ix_orders_status_updated_at on orders (status, updated_at desc);

            create table order_events (
                id           bigint generated always as identity primary key,
                event_id     uuid not null,
                order_id     text not null,
                step         text not null,
                service      text not null,
                outcome      text not null,
                reason       text,
                occurred_at  timestamptz not null,
                ingested_at  timestamptz not null,
                topic        text not null,
                partition    integer not null,
                "offset"     bigint not null,
                flags        text[] not null default '{}',
                trace_id     text,
                attributes   jsonb not null
            );
            -- Not unique: a recreated topic reuses offsets. Exactly-once rests on consumer_offsets.
            create index ix_order_events_coordinates on order_events (topic, partition, "offset");
            create index ix_order_events_order on order_events (order_id, occurred_at);

            create table consumer_offsets (
                consumer_group  text not null,
                topic           text not null,
                partition       integer not null,
                next_offset     bigint not null,
                updated_at      timestamptz not null,
                primary key (consumer_group, topic, partition)
            );

            create table quarantined_records (
                id           bigint generated always as identity primary key,
                topic        text not null,
                partition    integer not null,
                "offset"     bigint not null,
                key          bytea,
                value        bytea,
                headers      jsonb not null,
                error        text not null,
                received_at  timestamptz not null
            );
            create index ix_quarantined_records_coordinates on quarantined_records (topic, partition, "offset");
            create index ix_quarantined_records_received_at on quarantined_records (received_at desc);
            """);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.Sql("drop table quarantined_records; drop table consumer_offsets; drop table order_events; drop table orders;");
    }
}
