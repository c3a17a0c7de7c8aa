using Microsoft.EntityFrameworkCore;
using OrderFlow.Platform.ReadModel;
using OrderFlow.Testing;

namespace OrderFlow.IntegrationTests.Hosting;

/// <summary>The hand-written SQL migration and the EF model agree: every entity reads from the migrated schema.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ReadModelSchemaTests(PostgresServer postgres)
{
    [Fact]
    public async Task Every_entity_maps_onto_the_migrated_schema()
    {
        var db = await postgres.CreateDatabaseAsync();
        await using var context = new ReadModelDb(new DbContextOptionsBuilder<ReadModelDb>().UseNpgsql(db)
            .ConfigureWarnings(w => w.Ignore(Microsoft.EntityFrameworkCore.Diagnostics.RelationalEventId.PendingModelChangesWarning)).Options);
        await context.Database.MigrateAsync();

        Assert.Empty(await context.Orders.ToListAsync());
        Assert.Empty(await context.OrderEvents.ToListAsync());
        Assert.Empty(await context.OrderSteps.ToListAsync());
        Assert.Empty(await context.ConsumerOffsets.ToListAsync());
        Assert.Empty(await context.QuarantinedRecords.ToListAsync());
        Assert.Empty(await context.SlaBreaches.ToListAsync());
        Assert.Empty(await context.Outbox.ToListAsync());
        Assert.Empty(await context.Database.GetPendingMigrationsAsync());
    }
}
