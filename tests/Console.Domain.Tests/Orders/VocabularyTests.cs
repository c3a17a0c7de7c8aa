using OrderFlow.Domain.DeadLetters;
using OrderFlow.Domain.Orders;
using OrderFlow.Domain.Sla;
using OrderFlow.Domain.Workflow;

namespace OrderFlow.Domain.Tests.Orders;

/// <summary>Each name is written once in the domain; these are the names the read model, the API and docs/api.md use.</summary>
public class VocabularyTests
{
    [Fact]
    public void Every_order_status_has_its_read_model_name_and_reads_back()
    {
        Assert.Equal(["in-progress", "completed", "expired", "cancelled"], Enum.GetValues<OrderStatus>().Select(s => s.ToName()));
        Assert.All(Enum.GetValues<OrderStatus>(), s => Assert.Equal(s, OrderStatusNames.Parse(s.ToName())));
        Assert.Null(OrderStatusNames.Parse("done"));
    }

    [Fact]
    public void Every_sla_state_has_its_read_model_name_and_reads_back()
    {
        Assert.Equal(["on-track", "at-risk", "breached"], Enum.GetValues<SlaState>().Select(s => s.ToName()));
        Assert.All(Enum.GetValues<SlaState>(), s => Assert.Equal(s, SlaStateNames.Parse(s.ToName())));
    }

    [Fact]
    public void Every_dead_letter_status_has_the_name_the_table_allows()
    {
        Assert.Equal(["new", "replayed", "purged", "skipped"], Enum.GetValues<DeadLetterStatus>().Select(s => s.ToName()));
        Assert.All(Enum.GetValues<DeadLetterStatus>(), s => Assert.Equal(s, DeadLetterStatusNames.Parse(s.ToName())));
    }

    [Fact]
    public void Every_flag_has_one_name()
    {
        var all = Enum.GetValues<EventFlags>().Where(f => f != EventFlags.None).Aggregate(EventFlags.None, (a, f) => a | f);
        Assert.Equal(EventFlagNames.All, all.ToNames());
        Assert.Equal(EventFlagNames.All.Count, EventFlagNames.All.Distinct().Count());
    }
}
