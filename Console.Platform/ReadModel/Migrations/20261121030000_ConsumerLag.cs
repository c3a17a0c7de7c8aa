using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace OrderFlow.Platform.ReadModel.Migrations;

/// <summary>Consumer-lag time series (with retention) and the latest Burrow-style evaluation per partition.</summary>
[DbContext(typeof(ReadModelDb))]
[Migration("20261121030000_ConsumerLag")]
public sealed class ConsumerLag : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.Sql("""
            create table consumer_lag_samples (
                sampled_at        timestamptz not null,
                consumer_group    text not null,
                topic             text not null,
                partition         integer not null,
                committed_offset  bigint not null,
                high_watermark    bigint not null,
                lag               bigint not null
            );
            create index ix_consumer_lag_samples_series on consumer_lag_samples (consumer_group, topic, partition, sampled_at desc);
            create index ix_consumer_lag_samples_sampled_at on consumer_lag_samples (sampled_at);

            create table consumer_lag_status (
                consumer_group  text not null,
                topic           text not null,
                partition       integer not null,
                status          text not null,
                lag             bigint not null,
                lag_seconds     double precision,
                reason          text not null,
                evaluated_at    timestamptz not null,
                primary key (consumer_group, topic, partition)
            );
            """);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.Sql("drop table consumer_lag_status; drop table consumer_lag_samples;");
    }
}
