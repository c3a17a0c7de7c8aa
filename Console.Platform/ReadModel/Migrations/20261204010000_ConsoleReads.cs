using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>
/// Indexes for the console's reads (decision 0017). The order search pages by (first_seen_at, order_id) — a key that never
/// changes once written, so these indexes take an entry when an order is inserted and keep Ingest's heap-only updates
/// (decision 0013) for every event that changes neither status, last_failure nor flagged_count. Dead letters get a
/// normalised cause, computed by PostgreSQL as they are stored, to group by; quarantined records an index on their key
/// to link them to their order.
/// </summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261204010000_ConsoleReads")]
public sealed class ConsoleReads : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("""
            create index ix_orders_first_seen on orders (first_seen_at, order_id);
            create index ix_orders_status_first_seen on orders (status, first_seen_at, order_id);
            create index ix_orders_order_id_prefix on orders (order_id text_pattern_ops);
            create index ix_orders_flagged_first_seen on orders (first_seen_at, order_id) where flagged_count > 0;
            create index ix_orders_failure_first_seen on orders (first_seen_at, order_id) where last_failure is not null;

            -- The shape of an error: ids, quoted values and numbers taken out, so "timeout after 3000 ms for ORD-12" and
            -- "timeout after 5000 ms for ORD-99" group together.
            create function console_error_cause(reason text) returns text language sql immutable parallel safe return
                left(regexp_replace(regexp_replace(regexp_replace(regexp_replace(coalesce(nullif(btrim(reason), ''), '(no reason given)'),
                    '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}', '<id>', 'g'),
                    '''[^'']*''|"[^"]*"', '<value>', 'g'),
                    '[A-Za-z_]*[0-9][A-Za-z0-9_.:-]*', '<n>', 'g'),
                    '\s+', ' ', 'g'), 300);
            alter table dead_letters add column cause text generated always as (console_error_cause(error_reason)) stored;
            create index ix_dead_letters_cause on dead_letters (cause, first_seen_at desc);

            create index ix_quarantined_records_key on quarantined_records (key) where key is not null;
            """);

    protected override void Down(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("""
            drop index ix_quarantined_records_key;
            drop index ix_dead_letters_cause;
            alter table dead_letters drop column cause;
            drop function console_error_cause(text);
            drop index ix_orders_failure_first_seen;
            drop index ix_orders_flagged_first_seen;
            drop index ix_orders_order_id_prefix;
            drop index ix_orders_status_first_seen;
            drop index ix_orders_first_seen;
            """);
}
