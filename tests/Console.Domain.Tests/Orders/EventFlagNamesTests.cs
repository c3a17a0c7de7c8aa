using OrderFlow.Domain.Orders;

namespace OrderFlow.Domain.Tests.Orders;

public class EventFlagNamesTests
{
    [Fact]
    public void No_flags_have_no_names()
    {
        Assert.Empty(EventFlags.None.ToNames());
    }

    [Theory]
    [InlineData(EventFlags.Duplicate, "duplicate")]
    [InlineData(EventFlags.Late, "late")]
    [InlineData(EventFlags.AfterTerminal, "after-terminal")]
    [InlineData(EventFlags.UnplannedStep, "unplanned-step")]
    [InlineData(EventFlags.Repeated, "repeated")]
    [InlineData(EventFlags.SkippedDependencies, "skipped-dependencies")]
    [InlineData(EventFlags.NothingToCompensate, "nothing-to-compensate")]
    public void Each_flag_has_its_lower_case_name(EventFlags flag, string name)
    {
        Assert.Equal([name], flag.ToNames());
    }

    [Fact]
    public void Combined_flags_name_each_flag_in_declaration_order()
    {
        var flags = EventFlags.SkippedDependencies | EventFlags.Late | EventFlags.AfterTerminal;

        Assert.Equal(["late", "after-terminal", "skipped-dependencies"], flags.ToNames());
    }

    [Fact]
    public void Every_declared_flag_has_a_name()
    {
        var all = Enum.GetValues<EventFlags>().Where(f => f != EventFlags.None).Aggregate((a, b) => a | b);

        Assert.Equal(Enum.GetValues<EventFlags>().Length - 1, all.ToNames().Length);
    }
}
