using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>
/// Operator actions (issue 15): the append-only audit trail (a trigger refuses UPDATE, DELETE and TRUNCATE for every
/// user, the owner included), outbox rows tied to the action that queued them and able to carry a record's raw key
/// (a replay sends the dead letter's key byte for byte, null included), and where each of an action's messages landed.
/// </summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261204060000_OperatorActions")]
public sealed class OperatorActions : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("""
            create table action_audit (
                id            bigint generated always as identity primary key,
                action_id     uuid not null,
                at            timestamptz not null,
                actor         text not null,
                role          text not null,
                action        text not null,
                target        text not null,
                order_id      text,
                reason        text,
                result        text not null,
                detail        text,
                messages      integer not null,
                constraint ck_action_audit_result check (result in ('accepted', 'refused'))
            );
            -- One accepted action per action id: a repeat finds it and publishes nothing more. Refusals may repeat.
            create unique index ux_action_audit_accepted on action_audit (action_id) where result = 'accepted';
            create index ix_action_audit_at on action_audit (at desc);
            create index ix_action_audit_order on action_audit (order_id, at desc) where order_id is not null;
            create index ix_action_audit_target on action_audit (target, at desc);

            create function action_audit_append_only() returns trigger language plpgsql as $$
            begin
                raise exception 'action_audit is append-only: % refused', tg_op using errcode = 'insufficient_privilege';
            end $$;
            create trigger tr_action_audit_append_only before update or delete on action_audit
                for each row execute function action_audit_append_only();
            create trigger tr_action_audit_no_truncate before truncate on action_audit
                for each statement execute function action_audit_append_only();
            revoke update, delete, truncate on action_audit from public;

            alter table outbox
                add column action_id uuid,
                add column key_is_raw boolean not null default false,
                add column raw_key bytea;
            create index ix_outbox_action on outbox (action_id) where action_id is not null;

            create table action_deliveries (
                id            bigint generated always as identity primary key,
                action_id     uuid not null,
                topic         text not null,
                partition     integer not null,
                "offset"      bigint not null,
                published_at  timestamptz not null
            );
            create index ix_action_deliveries_action on action_deliveries (action_id);
            """);

    protected override void Down(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("""
            drop table action_deliveries;
            drop index ix_outbox_action;
            alter table outbox drop column action_id, drop column key_is_raw, drop column raw_key;
            drop table action_audit;
            drop function action_audit_append_only();
            """);
}
