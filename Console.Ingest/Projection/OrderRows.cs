using Npgsql;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Sla;
using OrderFlow.Domain.Workflow;

namespace OrderFlow.Ingest.Projection;

/// <summary>
/// The orders rows of a batch: a new order's row is copied whole; a known order's row goes through a staging table and
/// one update that leaves out what never changes (first_seen_at), holds its step arrays only once it finished, and only
/// touches rows still as this writer last saw them. That update keeps the watch time unless the deadline came earlier,
/// so an order moving on changes no indexed column and PostgreSQL rewrites its row in place (decision 0013).
/// </summary>
internal static class OrderRows
{
    private const string NewOrderColumns =
        "order_id, status, positions, last_step, last_failure, placed_at, last_event_at, updated_at, event_count, flagged_count, sla_state, sla_scope, sla_at_risk_at, sla_due_at, step_names, step_ready_at, step_succeeded_at, first_seen_at, sla_watch_at, workflow_version";

    private const string StagedOrderColumns =
        "order_id, status, positions, last_step, last_failure, placed_at, last_event_at, updated_at, event_count, flagged_count, sla_state, sla_scope, sla_at_risk_at, sla_due_at, step_names, step_ready_at, step_succeeded_at, seen_event_count, seen_flagged_count";

    /// <summary>The staging table of a writer's connection (it lives as long as the connection; step arrays null while in flight).</summary>
    public const string CreateStageSql =
        """
        create temp table if not exists orders_stage (
            order_id text not null, status text not null, positions text[] not null, last_step text, last_failure text,
            placed_at timestamptz, last_event_at timestamptz not null, updated_at timestamptz not null,
            event_count integer not null, flagged_count integer not null, sla_state text not null, sla_scope text,
            sla_at_risk_at timestamptz, sla_due_at timestamptz,
            step_names text[], step_ready_at timestamptz[], step_succeeded_at timestamptz[],
            seen_event_count integer not null, seen_flagged_count integer not null
        ) on commit delete rows
        """;

    /// <summary>The staged orders into orders; its RecordsAffected short of the staged count means another writer moved a row.</summary>
    public static NpgsqlBatchCommand Merge() => new(
        """
        update orders o set
            status = s.status, positions = s.positions, last_step = s.last_step, last_failure = s.last_failure,
            placed_at = s.placed_at, last_event_at = s.last_event_at, updated_at = s.updated_at,
            event_count = s.event_count, flagged_count = s.flagged_count, sla_state = s.sla_state,
            sla_scope = s.sla_scope, sla_at_risk_at = s.sla_at_risk_at, sla_due_at = s.sla_due_at,
            step_names = coalesce(s.step_names, o.step_names), step_ready_at = coalesce(s.step_ready_at, o.step_ready_at),
            step_succeeded_at = coalesce(s.step_succeeded_at, o.step_succeeded_at),
            sla_watch_at = case
                when s.sla_due_at is null then null
                when o.sla_watch_at <= s.sla_due_at then o.sla_watch_at
                else s.sla_due_at end
        from orders_stage s
        where o.order_id = s.order_id and o.event_count = s.seen_event_count and o.flagged_count = s.seen_flagged_count
        """);

    /// <summary>Copies the rows of these orders: into orders (new ones) or into the staging table (known ones).</summary>
    public static async Task CopyAsync(
        NpgsqlConnection connection, List<TouchedOrder> orders, double atRiskShare, DateTimeOffset now, bool staged, CancellationToken cancellationToken)
    {
        using var rows = await BinaryCopyRows.BeginAsync(
            connection,
            staged
                ? $"copy orders_stage ({StagedOrderColumns}) from stdin (format binary)"
                : $"copy orders ({NewOrderColumns}) from stdin (format binary)",
            cancellationToken);
        foreach (var touched in orders)
        {
            var order = touched.Order;
            var s = order.State;
            var workflow = order.Workflow.Definition;
            var failure = s.OpenFailure();
            rows.StartRow((short)(staged ? 19 : 20));
            rows.Text(s.OrderId);
            rows.Text(s.Status.ToName());
            var positions = s.Positions(workflow);
            rows.TextArray(positions);
            rows.Text(s.LastStep);
            rows.Text(failure is { } f ? $"{f.Step}: {f.Reason ?? "failed"}" : null);
            rows.Timestamp(s.PlacedAt);
            rows.Timestamp(s.LastEventAt);
            rows.Timestamp(now);
            rows.Integer(s.EventCount);
            rows.Integer(order.FlaggedCount);

            var sla = SlaEvaluation.Summarize(s, workflow, positions, now, atRiskShare);
            rows.Text(sla.State.ToName());
            rows.Text(sla.Next?.Scope);
            rows.Timestamp(sla.AtRiskAt);
            rows.Timestamp(sla.Next?.DueAt);

            // Step times go on the row once the order has finished; until then order_steps reads them from its events
            // (decision 0014), so that moving an order on rewrites a narrow row: a new row gets empty arrays, a staged one
            // none (the merge keeps the row's).
            if (s.IsTerminal)
            {
                var steps = s.StepTimings(workflow);
                var (names, readyAt, succeededAt) = (new string[steps.Count], new DateTimeOffset?[steps.Count], new DateTimeOffset[steps.Count]);
                for (var i = 0; i < steps.Count; i++)
                {
                    (names[i], readyAt[i], succeededAt[i]) = (steps[i].Step, steps[i].ReadyAt, steps[i].SucceededAt);
                }

                rows.TextArray(names);
                rows.TimestampArray(readyAt);
                rows.TimestampArray(succeededAt);
            }
            else if (staged)
            {
                rows.Null();
                rows.Null();
                rows.Null();
            }
            else
            {
                rows.TextArray([]);
                rows.TimestampArray(Array.Empty<DateTimeOffset>());
                rows.TimestampArray(Array.Empty<DateTimeOffset>());
            }

            if (staged)
            {
                rows.Integer(touched.SeenEventCount);
                rows.Integer(touched.SeenFlaggedCount);
            }
            else
            {
                rows.Timestamp(order.FirstSeenAt);
                rows.Timestamp(sla.Next?.DueAt);
                rows.Integer(order.Workflow.Version);
            }
        }

        await rows.CompleteAsync(cancellationToken);
    }
}
