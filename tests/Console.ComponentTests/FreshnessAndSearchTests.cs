using OrderFlow.Web.Freshness;
using OrderFlow.Web.Orders;

namespace OrderFlow.ComponentTests;

public sealed class FreshnessAndSearchTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private static readonly FreshnessSnapshot Healthy = new(Now, true, null, true, "ok", Now.AddSeconds(-1), true, null, Now.AddSeconds(-2), 0.4, 0);

    [Fact]
    public void A_healthy_read_model_says_how_fresh_it_is()
    {
        var line = FreshnessView.Describe(Healthy, Now, TimeSpan.FromSeconds(10));

        Assert.False(line.Warning);
        Assert.Equal("data as of 2 s ago · ingest 0 s behind", line.Text);
    }

    [Fact]
    public void A_silent_ingest_an_unreachable_kafka_or_postgresql_and_a_projection_behind_each_warn()
    {
        Assert.Contains("Console.Ingest is not running (no answer at http://ingest/health)", FreshnessView.Describe(Healthy with { IngestReachable = false, IngestDetail = "no answer at http://ingest/health" }, Now, TimeSpan.FromSeconds(10)).Text, StringComparison.Ordinal);
        // Without Ingest's address, the lag sampler's heartbeat tells.
        Assert.Contains("Console.Ingest has not reported for 30 s", FreshnessView.Describe(Healthy with { IngestReachable = null, IngestLastSeen = Now.AddSeconds(-30) }, Now, TimeSpan.FromSeconds(10)).Text, StringComparison.Ordinal);
        Assert.False(FreshnessView.Describe(Healthy with { IngestReachable = true, IngestLastSeen = null }, Now, TimeSpan.FromSeconds(10)).Warning);
        Assert.True(FreshnessView.Describe(Healthy with { KafkaReachable = false, KafkaDetail = "no brokers" }, Now, TimeSpan.FromSeconds(10)).Warning);
        var postgres = FreshnessView.Describe(Healthy with { PostgresReachable = false, PostgresError = "connection refused" }, Now, TimeSpan.FromSeconds(10));
        Assert.True(postgres.Warning);
        Assert.Contains("PostgreSQL is unreachable (connection refused)", postgres.Text, StringComparison.Ordinal);
        Assert.Contains("the projection is 45 s behind Kafka", FreshnessView.Describe(Healthy with { BehindSeconds = 45, BehindMessages = 900 }, Now, TimeSpan.FromSeconds(10)).Text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_search_survives_the_round_trip_through_its_url()
    {
        var search = new OrderSearch { Search = "ACC-34", Status = "in-progress", Sla = "breached", Step = "payment-authorized", Failure = true, DeadLetter = true, Flagged = true, From = Now.AddHours(-1), To = Now, Sort = "oldest" };

        var back = OrderSearch.FromUri("http://console/orders" + search.ToQuery(("selected", "ACC-34x")));

        Assert.Equal(search, back);
        Assert.Null(back.Problem());
    }

    [Fact]
    public void The_old_status_filter_with_an_sla_state_still_reads_and_bad_values_are_named()
    {
        Assert.Equal("at-risk", OrderSearch.FromUri("http://console/orders?status=at-risk").Sla);
        Assert.Equal("status must be one of in-progress, completed, expired, cancelled", OrderSearch.FromUri("http://console/orders?status=lost").Problem());
        Assert.Equal("from must be before to", OrderSearch.FromUri("http://console/orders?from=2026-12-04T12:00:00Z&to=2026-12-04T11:00:00Z").Problem());
    }
}
