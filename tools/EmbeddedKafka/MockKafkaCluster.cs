using System.Runtime.InteropServices;
using System.Text;

namespace OrderFlow.EmbeddedKafka;

/// <summary>
/// librdkafka's mock cluster: real Kafka protocol on loopback ports, for local runs and tests.
/// Owns a producer handle (the cluster lives inside it) and exposes the fault-injection calls.
/// </summary>
public sealed partial class MockKafkaCluster : IDisposable
{
    private const string Lib = NativeLibrdkafka.LibraryName;
    private readonly Lock _gate = new();
    private IntPtr _handle;
    private IntPtr _cluster;

    static MockKafkaCluster() => NativeLibrdkafka.BindImportsOf(typeof(MockKafkaCluster).Assembly);

    public MockKafkaCluster(int brokers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        var errors = new byte[512];
        var conf = rd_kafka_conf_new();
        // Keep the owning handle quiet: it never produces, it only hosts the cluster.
        rd_kafka_conf_set(conf, "log_level", "3", errors, (nuint)errors.Length);
        _handle = rd_kafka_new(0, conf, errors, (nuint)errors.Length);
        if (_handle == IntPtr.Zero)
        {
            throw new InvalidOperationException("librdkafka could not create the handle for the mock cluster: " + Decode(errors));
        }

        _cluster = rd_kafka_mock_cluster_new(_handle, brokers);
        if (_cluster == IntPtr.Zero)
        {
            rd_kafka_destroy(_handle);
            throw new InvalidOperationException("librdkafka could not start a mock cluster");
        }

        BrokerCount = brokers;
        // Without a controller, admin calls time out; without this, the first rebalance waits 3 s.
        rd_kafka_mock_set_controller_id(_cluster, 1);
        rd_kafka_mock_group_initial_rebalance_delay_ms(_cluster, 0);
        BootstrapServers = Marshal.PtrToStringUTF8(rd_kafka_mock_cluster_bootstraps(_cluster))
            ?? throw new InvalidOperationException("mock cluster has no bootstrap address");
    }

    public string BootstrapServers { get; }

    public int BrokerCount { get; }

    public void CreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        var err = rd_kafka_mock_topic_create(Cluster, topic, partitions, Math.Min(replicationFactor, BrokerCount));
        ThrowOnError(err, $"create topic {topic}");
    }

    /// <summary>Takes a broker (1-based id) off the network: connections drop, new ones are refused.</summary>
    public void SetBrokerDown(int brokerId) => ThrowOnError(rd_kafka_mock_broker_set_down(Cluster, brokerId), $"set broker {brokerId} down");

    public void SetBrokerUp(int brokerId) => ThrowOnError(rd_kafka_mock_broker_set_up(Cluster, brokerId), $"set broker {brokerId} up");

    /// <summary>Adds a round-trip delay to every response of one broker.</summary>
    public void SetRoundTripTime(int brokerId, TimeSpan rtt) =>
        ThrowOnError(rd_kafka_mock_broker_set_rtt(Cluster, brokerId, (int)rtt.TotalMilliseconds), $"set rtt of broker {brokerId}");

    /// <summary>The next requests of the given Kafka API key fail with these error codes, in order.</summary>
    public void PushRequestErrors(short apiKey, params int[] errorCodes) =>
        rd_kafka_mock_push_request_errors_array(Cluster, apiKey, (nuint)errorCodes.Length, errorCodes);

    public void Dispose()
    {
        lock (_gate)
        {
            if (_cluster != IntPtr.Zero)
            {
                rd_kafka_mock_cluster_destroy(_cluster);
                _cluster = IntPtr.Zero;
            }

            if (_handle != IntPtr.Zero)
            {
                rd_kafka_destroy(_handle);
                _handle = IntPtr.Zero;
            }
        }
    }

    private IntPtr Cluster => _cluster != IntPtr.Zero ? _cluster : throw new ObjectDisposedException(nameof(MockKafkaCluster));

    private static void ThrowOnError(int err, string what)
    {
        if (err != 0)
        {
            throw new InvalidOperationException($"mock cluster could not {what}: {Marshal.PtrToStringUTF8(rd_kafka_err2str(err))}");
        }
    }

    private static string Decode(byte[] buffer) => Encoding.UTF8.GetString(buffer).TrimEnd('\0');

    [LibraryImport(Lib)]
    private static partial IntPtr rd_kafka_conf_new();

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_conf_set(IntPtr conf, string name, string value, byte[] errstr, nuint errstrSize);

    [LibraryImport(Lib)]
    private static partial IntPtr rd_kafka_new(int type, IntPtr conf, byte[] errstr, nuint errstrSize);

    [LibraryImport(Lib)]
    private static partial void rd_kafka_destroy(IntPtr rk);

    [LibraryImport(Lib)]
    private static partial IntPtr rd_kafka_err2str(int err);

    [LibraryImport(Lib)]
    private static partial IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);

    [LibraryImport(Lib)]
    private static partial void rd_kafka_mock_cluster_destroy(IntPtr cluster);

    [LibraryImport(Lib)]
    private static partial IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr cluster);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_mock_topic_create(IntPtr cluster, string topic, int partitions, int replicationFactor);

    [LibraryImport(Lib)]
    private static partial void rd_kafka_mock_set_controller_id(IntPtr cluster, int controllerId);

    [LibraryImport(Lib)]
    private static partial void rd_kafka_mock_group_initial_rebalance_delay_ms(IntPtr cluster, int delayMs);

    [LibraryImport(Lib)]
    private static partial int rd_kafka_mock_broker_set_down(IntPtr cluster, int brokerId);

    [LibraryImport(Lib)]
    private static partial int rd_kafka_mock_broker_set_up(IntPtr cluster, int brokerId);

    [LibraryImport(Lib)]
    private static partial int rd_kafka_mock_broker_set_rtt(IntPtr cluster, int brokerId, int rttMs);

    [LibraryImport(Lib)]
    private static partial void rd_kafka_mock_push_request_errors_array(IntPtr cluster, short apiKey, nuint count, int[] errors);
}
