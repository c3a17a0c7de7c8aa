namespace OrderFlow.Simulator.Services;

/// <summary>
/// One consumer group reading its topics on a dedicated thread and handing each record over. A record counts as consumed
/// (its offset stored for the next commit) only once it was handled: what could not be published is tried again until
/// it is, and any other failure stops the simulator loudly. Handlers change what they remember only after they published,
/// so handling a record again does what the first attempt did not finish.
/// </summary>
public abstract class ConsumingService(IOptions<SimulatorOptions> options, TimeProvider clock, ILogger logger, string group) : BackgroundService
{
    /// <summary>How many orders (or commands) a service remembers before it forgets the oldest.</summary>
    protected const int Memory = 200_000;

    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    protected SimulatorOptions Options { get; } = options.Value;

    protected TimeProvider Clock { get; } = clock;

    protected ILogger Logger { get; } = logger;

    protected abstract IReadOnlyList<string> Topics { get; }

    /// <summary>A stalled service consumes nothing: its group keeps the offsets it committed, so its lag grows (a service that is down).</summary>
    protected virtual bool Stalled => false;

    protected abstract Task HandleAsync(ConsumeResult<byte[]?, byte[]?> record, CancellationToken stoppingToken);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        if (Stalled)
        {
            Logger.LogWarning("{Group} is stalled: it consumes nothing, so its lag grows", group);
            await Task.Delay(Timeout.InfiniteTimeSpan, Clock, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }

        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = Options.BootstrapServers,
            GroupId = group,
            AutoOffsetReset = Options.ConsumeFrom == ConsumeFrom.Earliest ? AutoOffsetReset.Earliest : AutoOffsetReset.Latest,
            EnableAutoCommit = true,
            // Stored by hand once a record is handled: a record whose handling failed is never committed.
            EnableAutoOffsetStore = false,
            SessionTimeoutMs = 10_000,
        })
            .SetPartitionsAssignedHandler((_, partitions) => Logger.LogInformation(
                "{Group} consuming {Partitions}", group, string.Join(", ", partitions.Select(p => $"{p.Topic}[{p.Partition.Value}]"))))
            .Build();
        consumer.Subscribe(Topics);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                ConsumeResult<byte[]?, byte[]?> record;
                try
                {
                    record = consumer.Consume(stoppingToken);
                }
                catch (ConsumeException ex) when (!ex.Error.IsFatal)
                {
                    // For example a topic that does not exist (yet): say so and keep the service alive.
                    Logger.LogWarning("{Group} could not consume: {Reason}", group, ex.Error.Reason);
                    await Task.Delay(RetryDelay, Clock, stoppingToken);
                    continue;
                }

                await HandleUntilDoneAsync(record, stoppingToken);
                consumer.StoreOffset(record);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            consumer.Close();
        }
    }

    private async Task HandleUntilDoneAsync(ConsumeResult<byte[]?, byte[]?> record, CancellationToken stoppingToken)
    {
        while (true)
        {
            try
            {
                await HandleAsync(record, stoppingToken);
                return;
            }
            catch (ProduceException<string, byte[]> ex)
            {
                Logger.LogWarning("{Group} could not publish after {Topic}[{Partition}]@{Offset}: {Reason}; handling it again in {Delay}",
                    group, record.Topic, record.Partition.Value, record.Offset.Value, ex.Error.Reason, RetryDelay);
                await Task.Delay(RetryDelay, Clock, stoppingToken);
            }
        }
    }
}

/// <summary>A simulated service: its own consumer group on the operational topic, reacting to succeeded events of some steps.</summary>
public abstract class ReactingService(
    EventPublisher publisher, IOptions<SimulatorOptions> options, TimeProvider clock, ILogger logger, string group, params string[] triggers)
    : ConsumingService(options, clock, logger, group)
{
    protected EventPublisher Publisher { get; } = publisher;

    protected override IReadOnlyList<string> Topics => [Options.OperationalTopic];

    protected abstract Task ReactAsync(OperationalEvent e, ConsumeResult<byte[]?, byte[]?> record, CancellationToken stoppingToken);

    protected override Task HandleAsync(ConsumeResult<byte[]?, byte[]?> record, CancellationToken stoppingToken) =>
        OperationalEventCodec.TryParse(record.Message.Key, record.Message.Value, out var e, out _)
        && triggers.Contains(e!.Step) && e.Outcome == StepOutcome.Succeeded
            ? ReactAsync(e, record, stoppingToken)
            : Task.CompletedTask;

    /// <summary>A refund or release happens at most once per order: the same name-based event id whoever publishes it again.</summary>
    protected Task CompensateAsync(string service, string step, string compensates, OperationalEvent trigger, TraceHeaders trace) =>
        Publisher.PublishAsync(trigger.OrderId, step, service, attributes: new { compensates, trigger = trigger.Step, triggerEventId = trigger.EventId },
            eventId: NameBasedEventId.For(step, trigger.OrderId), trace: trace);
}
