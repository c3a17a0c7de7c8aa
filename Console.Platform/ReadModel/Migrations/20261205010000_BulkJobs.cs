using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>
/// Bulk triage (issue 15 item 5, decision 0021): a job (what it does, to which selection, at what rate, where it stands,
/// who asked and who approved) and one row per selected dead letter with its own result. Both live in PostgreSQL so a
/// running job survives a Console.Web restart; each record's action id is derived from the job and the dead letter.
/// </summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261205010000_BulkJobs")]
public sealed class BulkJobs : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("""
            create table bulk_jobs (
                id              uuid primary key,
                kind            text not null,
                state           text not null,
                selection       text not null,
                reason          text not null,
                force           boolean not null,
                confirmed       boolean not null,
                rate            integer not null,
                requested_by    text not null,
                requested_role  text not null,
                created_at      timestamptz not null,
                approved_by     text,
                approved_at     timestamptz,
                started_at      timestamptz,
                ended_at        timestamptz,
                updated_at      timestamptz not null,
                dry_run         jsonb not null,
                constraint ck_bulk_jobs_kind check (kind in ('replay', 'purge')),
                constraint ck_bulk_jobs_state check (state in ('dry-run', 'awaiting-approval', 'running', 'paused', 'cancelled', 'finished')),
                constraint ck_bulk_jobs_rate check (rate > 0)
            );
            create index ix_bulk_jobs_created on bulk_jobs (created_at desc);
            create index ix_bulk_jobs_running on bulk_jobs (id) where state = 'running';

            create table bulk_job_records (
                job_id          uuid not null references bulk_jobs (id),
                seq             integer not null,
                dead_letter_id  bigint not null references dead_letters (id),
                action_id       uuid not null,
                state           text not null default 'pending',
                detail          text,
                processed_at    timestamptz,
                primary key (job_id, seq),
                constraint ck_bulk_job_records_state check (state in ('pending', 'done', 'refused'))
            );
            create unique index ux_bulk_job_records_dead_letter on bulk_job_records (job_id, dead_letter_id);
            create index ix_bulk_job_records_pending on bulk_job_records (job_id, seq) where state = 'pending';
            """);

    protected override void Down(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("drop table bulk_job_records; drop table bulk_jobs;");
}
