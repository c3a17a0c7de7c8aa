using System.Diagnostics.Metrics;

namespace OrderFlow.Ingest.Projection;

/// <summary>
/// Where the projection's time goes, per batch and phase (tools/Benchmarks prints them, docs/benchmarks.md), and where
/// folded orders came from. Meter "OrderFlow.Ingest.Projection"; any System.Diagnostics.Metrics listener can read it.
/// </summary>
public sealed class ProjectionMetrics
{
    public const string MeterName = "OrderFlow.Ingest.Projection";

    private readonly Histogram<double> _phases;
    private readonly Counter<long> _orders;

    public ProjectionMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _phases = meter.CreateHistogram<double>("orderflow.projection.phase.duration", "ms", "Time one batch spent in a phase of the projection");
        _orders = meter.CreateCounter<long>("orderflow.projection.orders", "{order}", "Orders folded, by where their state came from: cache, database or new");
    }

    public void Phase(string phase, long startTimestamp) =>
        _phases.Record(System.Diagnostics.Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds, new KeyValuePair<string, object?>("phase", phase));

    public void Orders(string source, int count)
    {
        if (count > 0)
        {
            _orders.Add(count, new KeyValuePair<string, object?>("source", source));
        }
    }
}
