using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>
/// A person can dismiss the quarantined records of a cause (seen to: the producer fixed, the records not wanted). The
/// records stay byte for byte; who dismissed them, when and by which audited action is kept on each. Open records —
/// the navigation's count, the page's default — are found through a partial index however many were dismissed.
/// </summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261207030000_QuarantineDismissal")]
public sealed class QuarantineDismissal : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("""
            alter table quarantined_records
                add column dismissed_at timestamptz,
                add column dismissed_by text,
                add column dismissed_action uuid;
            create index ix_quarantined_records_open on quarantined_records (cause, received_at desc, id desc) where dismissed_at is null;
            """);

    protected override void Down(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("""
            drop index ix_quarantined_records_open;
            alter table quarantined_records drop column dismissed_action, drop column dismissed_by, drop column dismissed_at;
            """);
}
