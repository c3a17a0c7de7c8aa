using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>Records of the dead-letter topics, stored byte for byte with where they came from and what operators did with them.</summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261121020000_DeadLetters")]
public sealed class DeadLetters : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.Sql("""
            create table dead_letters (
                id                 bigint generated always as identity primary key,
                dlq_topic          text not null,
                dlq_partition      integer not null,
                dlq_offset         bigint not null,
                kafka_timestamp    timestamptz,
                key                bytea,
                value              bytea,
                headers            jsonb not null,
                source_topic       text,
                source_partition   integer,
                source_offset      bigint,
                error_reason       text,
                failed_service     text,
                order_id           text,
                first_seen_at      timestamptz not null,
                status             text not null default 'new',
                status_changed_at  timestamptz,
                status_changed_by  text,
                -- Operator actions move a dead letter through these states only; a typo fails loudly.
                constraint ck_dead_letters_status check (status in ('new', 'replayed', 'purged', 'skipped'))
            );
            create index ix_dead_letters_first_seen_at on dead_letters (first_seen_at desc);
            create index ix_dead_letters_order on dead_letters (order_id);
            create index ix_dead_letters_status_first_seen_at on dead_letters (status, first_seen_at desc);
            -- Not unique: a recreated topic reuses offsets. Exactly-once rests on consumer_offsets.
            create index ix_dead_letters_coordinates on dead_letters (dlq_topic, dlq_partition, dlq_offset);
            """);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.Sql("drop table dead_letters;");
    }
}
