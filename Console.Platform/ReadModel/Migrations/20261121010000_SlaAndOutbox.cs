using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>SLA deadlines kept on each order (indexed for the watcher), breach history, and the transactional outbox.</summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261121010000_SlaAndOutbox")]
public sealed class SlaAndOutbox : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.Sql("""
            alter table orders
                add column sla_state      text not null default 'on-track',
                add column sla_scope      text,
                add column sla_at_risk_at timestamptz,
                add column sla_due_at     timestamptz;
            -- The SLA watcher reads only in-flight orders whose next deadline has come: never a scan of all orders.
            create index ix_orders_sla_due on orders (sla_due_at) where status = 'in-progress' and sla_state <> 'breached';
            create index ix_orders_sla_at_risk on orders (sla_at_risk_at) where status = 'in-progress' and sla_state = 'on-track';

            create table sla_breaches (
                id           bigint generated always as identity primary key,
                order_id     text not null,
                scope        text not null,
                due_at       timestamptz not null,
                detected_at  timestamptz not null,
                unique (order_id, scope, due_at)
            );
            create index ix_sla_breaches_detected_at on sla_breaches (detected_at desc);

            create table outbox (
                id            bigint generated always as identity primary key,
                topic         text not null,
                key           text not null,
                value         bytea not null,
                headers       jsonb not null default '[]',
                dedupe_key    text not null unique,
                created_at    timestamptz not null,
                published_at  timestamptz,
                attempts      integer not null default 0,
                last_error    text
            );
            create index ix_outbox_pending on outbox (id) where published_at is null;
            """);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.Sql("""
            drop table outbox; drop table sla_breaches;
            drop index ix_orders_sla_due; drop index ix_orders_sla_at_risk;
            alter table orders drop column sla_state, drop column sla_scope, drop column sla_at_risk_at, drop column sla_due_at;
            """);
    }
}
