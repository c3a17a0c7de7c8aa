using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>
/// Quarantined records get the normalised cause dead letters have had since <c>ConsoleReads</c> (the error's shape: ids,
/// quoted values and numbers taken out), computed by PostgreSQL as they are stored, so the quarantine page can group them
/// ("payload is not valid JSON: <value> is an invalid JSON literal …" × 2,760) and page through one cause, newest first,
/// through an index instead of listing the newest 500 of every cause.
/// </summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261207020000_QuarantineCauses")]
public sealed class QuarantineCauses : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("""
            alter table quarantined_records add column cause text generated always as (console_error_cause(error)) stored;
            create index ix_quarantined_records_cause on quarantined_records (cause, received_at desc, id desc);
            """);

    protected override void Down(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("""
            drop index ix_quarantined_records_cause;
            alter table quarantined_records drop column cause;
            """);
}
