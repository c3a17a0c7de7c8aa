using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>
/// The flow summary counts the new dead letters on every change (and the navigation badge, capped): with almost every
/// dead letter new, PostgreSQL read the whole table for it (its rows carry the records' bytes: 1,482 pages at 21,000 dead
/// letters, 43 ms a count under 6,000 events/s, the largest part of the dashboard's "now" reading). This partial index
/// lets it count index entries only (66 pages, docs/benchmarks.md).
/// </summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261206030000_NewDeadLettersIndex")]
public sealed class NewDeadLettersIndex : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("create index if not exists ix_dead_letters_new on dead_letters (id) where status = 'new';");

    protected override void Down(MigrationBuilder migrationBuilder) =>
        migrationBuilder.Sql("drop index ix_dead_letters_new;");
}
