using Microsoft.EntityFrameworkCore;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Sla;
using OrderFlow.Platform.ReadModel;

namespace OrderFlow.Web.Orders;

public sealed record OrderSummary(
    string OrderId,
    string Status,
    string[] Positions,
    string? LastStep,
    string? LastFailure,
    DateTimeOffset? PlacedAt,
    DateTimeOffset LastEventAt,
    DateTimeOffset UpdatedAt,
    int EventCount,
    int FlaggedCount,
    string SlaState,
    string? SlaScope,
    DateTimeOffset? SlaDueAt);

public sealed record OrderPage(IReadOnlyList<OrderSummary> Items, int Total);

public sealed record StatusCount(string Status, int Count);

public sealed record OrderEventView(
    Guid EventId,
    string Step,
    string Service,
    string Outcome,
    string? Reason,
    DateTimeOffset OccurredAt,
    DateTimeOffset IngestedAt,
    string Topic,
    int Partition,
    long Offset,
    string[] Flags,
    string? TraceId,
    System.Text.Json.JsonElement Attributes);

public sealed record OrderDetail(OrderSummary Order, IReadOnlyList<OrderEventView> Events);

/// <summary>
/// Read-only queries over the read model for the screens and the JSON API. All filters are parameterized.
/// An in-flight order's SLA state is read against the clock: breached as the SLA watcher recorded it, otherwise at-risk
/// once <c>sla_at_risk_at</c> has passed (nobody writes that transition: decision 0011).
/// </summary>
public sealed class OrderQueries(IDbContextFactory<ReadModelDb> dbFactory, TimeProvider clock)
{
    public const int MaxPageSize = 500;

    public static readonly string[] Statuses = [.. OrderStatusNames.All];

    public async Task<OrderPage> ListAsync(string? search, string? status, int skip, int take, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var query = db.Orders.AsNoTracking();
        if (!string.IsNullOrWhiteSpace(search))
        {
            var pattern = "%" + EscapeLike(search.Trim()) + "%";
            query = query.Where(o => EF.Functions.ILike(o.OrderId, pattern, "\\"));
        }

        var now = clock.GetUtcNow();
        if (status == SlaStateNames.Breached)
        {
            query = query.Where(o => o.Status == OrderStatusNames.InProgress && o.SlaState == SlaStateNames.Breached);
        }
        else if (status == SlaStateNames.AtRisk)
        {
            query = query.Where(o => o.Status == OrderStatusNames.InProgress && o.SlaState != SlaStateNames.Breached && o.SlaAtRiskAt <= now);
        }
        else if (status == SlaStateNames.OnTrack)
        {
            query = query.Where(o => o.Status == OrderStatusNames.InProgress && o.SlaState != SlaStateNames.Breached && (o.SlaAtRiskAt == null || o.SlaAtRiskAt > now));
        }
        else if (!string.IsNullOrWhiteSpace(status))
        {
            query = query.Where(o => o.Status == status);
        }

        var total = await query.CountAsync(cancellationToken);
        var items = await Summaries(query
            .OrderByDescending(o => o.UpdatedAt).ThenBy(o => o.OrderId)
            .Skip(Math.Max(0, skip))
            .Take(Math.Clamp(take, 1, MaxPageSize)), now)
            .ToListAsync(cancellationToken);
        return new OrderPage(items, total);
    }

    /// <summary>In-flight orders by SLA state (on-track, at-risk, breached).</summary>
    public async Task<IReadOnlyList<StatusCount>> CountInFlightBySlaAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var counts = await db.Orders.AsNoTracking().Where(o => o.Status == OrderStatusNames.InProgress)
            .Select(o => o.SlaState == SlaStateNames.Breached ? SlaStateNames.Breached : o.SlaAtRiskAt <= now ? SlaStateNames.AtRisk : SlaStateNames.OnTrack)
            .GroupBy(state => state)
            .Select(g => new StatusCount(g.Key, g.Count())).ToListAsync(cancellationToken);
        return SlaStates.Select(s => counts.FirstOrDefault(c => c.Status == s) ?? new StatusCount(s, 0)).ToList();
    }

    public static readonly string[] SlaStates = [.. SlaStateNames.All];

    public async Task<IReadOnlyList<StatusCount>> CountByStatusAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var counts = await db.Orders.AsNoTracking().GroupBy(o => o.Status).Select(g => new StatusCount(g.Key, g.Count())).ToListAsync(cancellationToken);
        return Statuses.Select(s => counts.FirstOrDefault(c => c.Status == s) ?? new StatusCount(s, 0)).ToList();
    }

    public async Task<OrderDetail?> FindAsync(string orderId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var order = await Summaries(db.Orders.AsNoTracking().Where(o => o.OrderId == orderId), clock.GetUtcNow())
            .SingleOrDefaultAsync(cancellationToken);
        if (order is null)
        {
            return null;
        }

        var events = await db.OrderEvents.AsNoTracking()
            .Where(e => e.OrderId == orderId)
            .OrderBy(e => e.OccurredAt).ThenBy(e => e.Id)
            .Select(e => new { e.EventId, e.Step, e.Service, e.Outcome, e.Reason, e.OccurredAt, e.IngestedAt, e.Topic, e.Partition, e.Offset, e.Flags, e.TraceId, e.Attributes })
            .ToListAsync(cancellationToken);
        return new OrderDetail(order, events.Select(e => new OrderEventView(
            e.EventId, e.Step, e.Service, e.Outcome, e.Reason, e.OccurredAt, e.IngestedAt, e.Topic, e.Partition, e.Offset, e.Flags, e.TraceId,
            System.Text.Json.JsonDocument.Parse(e.Attributes).RootElement.Clone())).ToList());
    }

    /// <summary>Orders as the screens and the API show them, their SLA state as of <paramref name="now"/>.</summary>
    private static IQueryable<OrderSummary> Summaries(IQueryable<OrderRow> orders, DateTimeOffset now) =>
        orders.Select(o => new OrderSummary(o.OrderId, o.Status, o.Positions, o.LastStep, o.LastFailure, o.PlacedAt, o.LastEventAt, o.UpdatedAt, o.EventCount, o.FlaggedCount,
            o.SlaState == SlaStateNames.Breached ? SlaStateNames.Breached
                : o.Status == OrderStatusNames.InProgress && o.SlaAtRiskAt <= now ? SlaStateNames.AtRisk : SlaStateNames.OnTrack,
            o.SlaScope, o.SlaDueAt));

    private static string EscapeLike(string text) => text.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");
}
