using Confluent.Kafka;
using Npgsql;
using OrderFlow.Domain.Events;
using OrderFlow.Domain.Reports;
using OrderFlow.Ingest.Flow;
using OrderFlow.Testing;
using OrderFlow.Web.Reports;

namespace OrderFlow.IntegrationTests.Reports;

/// <summary>
/// The expiry report reads counts kept by triggers as events arrive (decision 0028), not the history. Whatever arrives —
/// through the real projection (real broker, real PostgreSQL): duplicates, a second terminal event, one arriving late with
/// an earlier time, breaches recorded before and after the ending — it equals the report computed from the history by
/// the rule it had before, and the figures a person would count by hand.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ExpiryReportTests(PostgresServer postgres) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly DateTimeOffset Day1 = Events.T0.AddDays(-3); // 2026-11-18
    private readonly KafkaBroker _kafka = new();

    [Fact]
    public async Task The_kept_counts_equal_the_report_over_the_history_whatever_arrives_and_when()
    {
        var db = await postgres.CreateDatabaseAsync();
        var readModel = new ReadModel(db);
        // Unpooled: every connection of this test ends when closed, so its rows of ended_per_day fold like the projection's.
        await using var dataSource = NpgsqlDataSource.Create(db + ";Pooling=false");
        var queries = new ReportQueries(dataSource);
        var upkeep = new FlowUpkeep(dataSource, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<FlowUpkeep>.Instance);
        using var producer = _kafka.CreateProducer();
        var duplicate = Guid.NewGuid();

        await using (await IngestHost.StartAsync(db, _kafka.BootstrapServers, settings: new Dictionary<string, string?> { ["Sla:ExpiryPolicy"] = "Off" }))
        {
            // A breach recorded before its order ends (the watcher's row, as it writes it).
            await ExecuteAsync(dataSource, "insert into sla_breaches (order_id, scope, due_at, detected_at) values ('EXP-WATCHER', 'payment-authorized', $1, $1)", Day1);
            await PublishAndWaitAsync(producer, readModel,
            [
                Ended("DONE-1", "order-completed", Day1), Ended("DONE-2", "order-completed", Day1.AddDays(1)),
                Ended("EXP-OTHER", "order-expired", Day1, eventId: duplicate), Ended("EXP-OTHER", "order-expired", Day1, eventId: duplicate),
                Ended("EXP-WATCHER", "order-expired", Day1, service: "order-flow-console"),
                // Completed, then expired later: it ended completed.
                Ended("TWICE", "order-completed", Day1), Ended("TWICE", "order-expired", Day1.AddHours(1)),
                // A failed expiry ends nothing; an order still in flight neither.
                Ended("FAILED-EXPIRY", "order-expired", Day1, outcome: StepOutcome.Failed), Events.StepAt("IN-FLIGHT", "order-placed", Day1),
                // Expires on day 3; its cancellation, a day earlier, arrives only in the next batch.
                Ended("MOVES", "order-expired", Day1.AddDays(2)),
            ]);
            await AssertReportsMatchHistoryAsync(queries, dataSource);

            // The SLA watcher breaches EXP-OPERATOR while the projection writes its ending: the breach commits after the
            // ending's trigger ran, which could not see it (nor the watcher's statement the ending).
            await using var watcher = await dataSource.OpenConnectionAsync();
            await using (var breach = await watcher.BeginTransactionAsync())
            {
                await using (var insert = new NpgsqlCommand(
                    "insert into sla_breaches (order_id, scope, due_at, detected_at) values ('EXP-OPERATOR', 'shipped', $1, now()), ('IN-FLIGHT', 'payment-authorized', $1, now())",
                    watcher, breach))
                {
                    insert.Parameters.Add(new NpgsqlParameter { Value = Day1 });
                    await insert.ExecuteNonQueryAsync();
                }

                await PublishAndWaitAsync(producer, readModel,
                [
                    Ended("MOVES", "order-cancelled", Day1.AddDays(1)), Ended("DONE-1", "order-expired", Day1.AddDays(2)),
                    Ended("EXP-OPERATOR", "order-expired", Day1.AddDays(1), attributes: """{"requestedBy":"agent"}"""),
                ]);
                await breach.CommitAsync();
            }
        }

        // Until the upkeep's next pass the report misses that breach; the pass corrects it (one order).
        Assert.Contains(new ExpiryByStep(ReportQueries.NoBreach, "operator", 1), (await queries.ExpiryAsync(Filter(ReportBucket.Day, null))).ByStep);
        Assert.Equal(1, await upkeep.RecheckBreachesAsync(CancellationToken.None));

        var report = await AssertReportsMatchHistoryAsync(queries, dataSource);
        // By hand: day 1 ended DONE-1, EXP-OTHER, EXP-WATCHER, TWICE (4, 2 expired: the watcher's and another's);
        // day 2 DONE-2, EXP-OPERATOR, MOVES (3, 1 expired by an operator); day 3 nothing that ended there first.
        Assert.Equal(
            [new ExpiryPeriod(Day1.Date(), 4, 2, 1, 0, 1), new ExpiryPeriod(Day1.AddDays(1).Date(), 3, 1, 0, 1, 0)],
            report.Periods);
        Assert.Equal(
            [new ExpiryByStep(ReportQueries.NoBreach, "other", 1), new ExpiryByStep("payment-authorized", "sla-watcher", 1), new ExpiryByStep("shipped", "operator", 1)],
            report.ByStep);
        Assert.Equal(0, await upkeep.RecheckBreachesAsync(CancellationToken.None));

        // Every writer's connection is gone (the projection's, the upkeep's): their rows fold into shard 0, keys that
        // folded to zero go, and the report stays.
        await Eventually.UntilAsync(async () =>
            {
                await upkeep.FoldAsync(CancellationToken.None);
                return await readModel.CountAsync("select count(*) from ended_per_day where shard <> 0");
            },
            n => n == 0, Timeout, "every writer's rows folded");
        Assert.Equal(0, await readModel.CountAsync("select count(*) from ended_per_day where orders = 0"));
        Assert.Equal(report.Periods, (await AssertReportsMatchHistoryAsync(queries, dataSource)).Periods);

        // Emptied (with the kept tables named too, as a reset of the read model would): nothing ended.
        await ExecuteAsync(dataSource, "truncate order_events, order_endings");
        Assert.Empty((await queries.ExpiryAsync(Filter(ReportBucket.Day, null))).Periods);
    }

    private static OperationalEvent Ended(string orderId, string step, DateTimeOffset at, Guid? eventId = null, string? service = null,
        string attributes = "{}", StepOutcome outcome = StepOutcome.Succeeded) =>
        new(eventId ?? Guid.NewGuid(), orderId, step, service ?? "order-service", outcome, null, at, OperationalEvent.CurrentSchemaVersion, attributes);

    private static ReportFilter Filter(ReportBucket bucket, string? step) => new(Day1.Date().AddDays(-7), Day1.Date().AddDays(14), bucket, step);

    /// <summary>For every bucket and breached-step filter: the report equals the same figures computed from order_events.</summary>
    private static async Task<ExpiryReport> AssertReportsMatchHistoryAsync(ReportQueries queries, NpgsqlDataSource dataSource)
    {
        ExpiryReport? all = null;
        foreach (var bucket in new[] { ReportBucket.Day, ReportBucket.Week })
        {
            foreach (var step in new[] { null, ReportQueries.NoBreach, "payment-authorized", "shipped" })
            {
                var filter = Filter(bucket, step);
                var kept = await queries.ExpiryAsync(filter);
                var (periods, byStep) = await FromHistoryAsync(dataSource, filter);
                Assert.Equal(periods, kept.Periods);
                Assert.Equal(byStep, kept.ByStep);
                all ??= kept;
            }
        }

        return all!;
    }

    /// <summary>The report as it was computed before (ReportQueries until decision 0028): each order's earliest terminal event in the history.</summary>
    private static async Task<(List<ExpiryPeriod>, List<ExpiryByStep>)> FromHistoryAsync(NpgsqlDataSource dataSource, ReportFilter filter)
    {
        const string ended =
            """
            with ended as (
                select distinct on (e.order_id) e.order_id, e.step, e.occurred_at,
                       case when e.attributes ? 'requestedBy' then 'operator'
                            when e.attributes ->> 'expiredBy' = 'order-flow-console' or e.service = 'order-flow-console' then 'sla-watcher'
                            else 'other' end as reason,
                       coalesce((select b.scope from sla_breaches b where b.order_id = e.order_id order by b.due_at limit 1), 'no breach recorded') as breached_step
                from order_events e
                where e.step in ('order-completed', 'order-expired', 'order-cancelled') and e.outcome = 'succeeded'
                  and not exists (
                      select 1 from order_events p
                      where p.order_id = e.order_id and p.step in ('order-completed', 'order-expired', 'order-cancelled') and p.outcome = 'succeeded'
                        and p.occurred_at < e.occurred_at)
                order by e.order_id, e.occurred_at, e.id
            ), filtered as (
                select * from ended where occurred_at >= $1 and occurred_at < $2 and ($3::text is null or breached_step = $3)
            )
            """;
        var periods = new List<ExpiryPeriod>();
        await using (var command = Command(dataSource, filter, $"""
            {ended}
            select date_trunc('{(filter.Bucket == ReportBucket.Week ? "week" : "day")}', occurred_at at time zone 'UTC') at time zone 'UTC',
                   count(*), count(*) filter (where step = 'order-expired'),
                   count(*) filter (where step = 'order-expired' and reason = 'sla-watcher'),
                   count(*) filter (where step = 'order-expired' and reason = 'operator'),
                   count(*) filter (where step = 'order-expired' and reason = 'other')
            from filtered group by 1 order by 1
            """))
        await using (var r = await command.ExecuteReaderAsync())
        {
            while (await r.ReadAsync())
            {
                periods.Add(new ExpiryPeriod(new DateTimeOffset(DateTime.SpecifyKind(r.GetDateTime(0), DateTimeKind.Utc)), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5)));
            }
        }

        var byStep = new List<ExpiryByStep>();
        await using (var command = Command(dataSource, filter, $"{ended} select breached_step, reason, count(*) from filtered where step = 'order-expired' group by 1, 2 order by 3 desc, 1, 2"))
        await using (var r = await command.ExecuteReaderAsync())
        {
            while (await r.ReadAsync())
            {
                byStep.Add(new ExpiryByStep(r.GetString(0), r.GetString(1), r.GetInt64(2)));
            }
        }

        return (periods, byStep);
    }

    private static NpgsqlCommand Command(NpgsqlDataSource dataSource, ReportFilter filter, string sql)
    {
        var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = filter.From });
        command.Parameters.Add(new NpgsqlParameter { Value = filter.To });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Step ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        return command;
    }

    private static async Task PublishAndWaitAsync(IProducer<string, byte[]> producer, ReadModel readModel, OperationalEvent[] events)
    {
        var before = await readModel.CountAsync("select count(*) from order_events");
        await producer.PublishAsync(events);
        // Duplicates are stored too (flagged), so every record lands as a row.
        await Eventually.UntilAsync(() => readModel.CountAsync("select count(*) from order_events"), n => n == before + events.Length, Timeout, $"{events.Length} more events stored");
    }

    private static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql, params object[] values)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var v in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = v });
        }

        await command.ExecuteNonQueryAsync();
    }

    public void Dispose() => _kafka.Dispose();
}

internal static class DayExtensions
{
    /// <summary>The UTC midnight of the moment's day.</summary>
    public static DateTimeOffset Date(this DateTimeOffset at) => new(at.UtcDateTime.Date, TimeSpan.Zero);
}
