using OrderFlow.Platform.ReadModel;

namespace OrderFlow.Web.Live;

/// <summary>Which change notifications concern which page, so a page re-queries and re-renders only for what it shows.</summary>
public static class ChangeFilters
{
    /// <summary>Order lists (search, stuck): any order changed, or a dead letter arrived (it names why an order stopped).</summary>
    public static bool Orders(ChangeNotification n) => n.Orders > 0 || n.Events > 0 || n.Sla > 0 || n.DeadLetters > 0;

    /// <summary>One order's page: that order may have changed (named, or in the filter of a large write), or a dead letter or quarantined record arrived.</summary>
    public static Func<ChangeNotification, bool> Order(string orderId) =>
        n => n.DeadLetters > 0 || n.Quarantined > 0 || n.MayConcernOrder(orderId);

    public static bool DeadLetters(ChangeNotification n) => n.DeadLetters > 0 || n.Actions > 0;

    public static bool Quarantine(ChangeNotification n) => n.Quarantined > 0;

    /// <summary>The flow dashboard: anything but lag samples.</summary>
    public static bool Flow(ChangeNotification n) => Orders(n) || Quarantine(n);

    /// <summary>The workflow page: orders (unplanned steps, the discovered flow) and workflow versions stored or refused.</summary>
    public static bool Workflow(ChangeNotification n) => Orders(n) || n.Workflow > 0;

    /// <summary>The lag page: lag samples, and orders (the impact counts orders waiting).</summary>
    public static bool Lag(ChangeNotification n) => n.Lag > 0;

    /// <summary>The navigation's counts: stuck orders, new dead letters, quarantined records.</summary>
    public static bool Navigation(ChangeNotification n) => Orders(n) || Quarantine(n) || n.Actions > 0;
}
