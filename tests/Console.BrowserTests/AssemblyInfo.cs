// One console at a time: a test stops Console.Ingest, and two stacks at once do not fit beside each other on 2 cores.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
