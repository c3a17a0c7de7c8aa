using Npgsql;
using OrderFlow.Web.Orders;

namespace OrderFlow.Web.Stuck;

/// <summary>A stuck order: in flight and at-risk or breached, with how far over (or how close to) its SLA it is.</summary>
public sealed record StuckOrder(OrderSummary Order, DateTimeOffset? BreachedAt)
{
    /// <summary>Time over the first breached deadline (positive), or time left to the next one (negative) for an at-risk order.</summary>
    public TimeSpan Over(DateTimeOffset now) =>
        BreachedAt is { } b ? now - b : Order.SlaDueAt is { } due ? now - due : TimeSpan.Zero;
}

public sealed record StuckGroup(string WaitingFor, long Count, long Breached, IReadOnlyList<StuckOrder> Orders);

/// <summary>
/// In-flight orders that are at-risk or breached, grouped by the step(s) they wait for. Reads only in-flight orders
/// (the status index); the rows shown per group are capped, the counts are not.
/// </summary>
public sealed class StuckQueries(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public const int RowsPerGroup = 200;

    public async Task<IReadOnlyList<StuckGroup>> ListAsync(CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        await using var command = dataSource.CreateCommand(
            """
            with stuck as (
                select o.*, array_to_string(o.positions, ' + ') as waiting_for
                from orders o
                where o.status = 'in-progress' and (o.sla_state = 'breached' or o.sla_at_risk_at <= $1)
            ), ranked as (
                select s.*, b.breached_at,
                       count(*) over (partition by s.waiting_for) as group_count,
                       count(*) filter (where s.sla_state = 'breached') over (partition by s.waiting_for) as group_breached,
                       row_number() over (partition by s.waiting_for order by b.breached_at nulls last, s.sla_due_at, s.order_id) as rank
                from stuck s
                left join lateral (select min(due_at) as breached_at from sla_breaches sb where sb.order_id = s.order_id) b on true
            )
            select o.order_id, o.status, o.positions, o.last_step, o.last_failure, o.placed_at, o.first_seen_at, o.last_event_at, o.updated_at,
                   o.event_count, o.flagged_count,
                   case when o.sla_state = 'breached' then 'breached' else 'at-risk' end,
                   o.sla_scope, o.sla_due_at,
                   dl.id, dl.dlq_topic, dl.error_reason, dl.failed_service, dl.first_seen_at,
                   o.breached_at, o.waiting_for, o.group_count, o.group_breached
            from ranked o
            left join lateral (
                select d.id, d.dlq_topic, d.error_reason, d.failed_service, d.first_seen_at from dead_letters d
                where d.order_id = o.order_id and d.status in ('new', 'skipped') order by d.first_seen_at desc limit 1) dl on true
            where o.rank <= $2
            order by o.group_count desc, o.waiting_for, o.rank
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        command.Parameters.Add(new NpgsqlParameter { Value = RowsPerGroup });
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        var groups = new List<StuckGroup>();
        while (await r.ReadAsync(cancellationToken))
        {
            var order = new OrderSummary(
                r.GetString(0), r.GetString(1), r.GetFieldValue<string[]>(2), OrderQueries.NullableString(r, 3), OrderQueries.NullableString(r, 4), OrderQueries.NullableTime(r, 5),
                r.GetFieldValue<DateTimeOffset>(6), r.GetFieldValue<DateTimeOffset>(7), r.GetFieldValue<DateTimeOffset>(8), r.GetInt32(9), r.GetInt32(10),
                r.GetString(11), OrderQueries.NullableString(r, 12), OrderQueries.NullableTime(r, 13),
                r.IsDBNull(14) ? null : new DeadLetterCause(r.GetInt64(14), r.GetString(15), OrderQueries.NullableString(r, 16), OrderQueries.NullableString(r, 17), r.GetFieldValue<DateTimeOffset>(18)));
            var waitingFor = r.GetString(20);
            if (groups.Count == 0 || groups[^1].WaitingFor != waitingFor)
            {
                groups.Add(new StuckGroup(waitingFor, r.GetInt64(21), r.GetInt64(22), new List<StuckOrder>()));
            }

            ((List<StuckOrder>)groups[^1].Orders).Add(new StuckOrder(order, OrderQueries.NullableTime(r, 19)));
        }

        return groups;
    }
}
