using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>
/// orders.state as json instead of jsonb: only the projection reads it back (whole), and PostgreSQL then stores the text
/// after a syntax check instead of parsing it into jsonb on every order write (docs/decisions/0010).
/// </summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261121043100_OrderStateAsJson")]
public sealed class OrderStateAsJson : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.Sql("alter table orders alter column state type json using state::json;");
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.Sql("alter table orders alter column state type jsonb using state::jsonb;");
    }
}
