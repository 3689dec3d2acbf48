namespace Owlbox.Jobs;

/// <summary>
/// Back-pressure for the one-process mode, where every stage shares the in-memory bus and nothing else holds an early
/// stage back: the expansion would queue a FetchSample per sample of a 100k-sample dataset at once, and the fetcher
/// would read images into queued messages long before the detector gets to them. (On RabbitMQ the broker's queues are
/// the buffers, and their depth is what KEDA scales on, so both gates are unbounded there.)
/// </summary>
public sealed class OneProcessGates(int samples, int images)
{
    /// <summary>FetchSample messages published by a job's expansion and not yet finished by a fetcher: the expansion
    /// publishes as this frees room, so queued messages do not grow with the dataset.</summary>
    public InFlightGate Samples { get; } = new(samples);

    /// <summary>Images fetched and not yet taken by a detector's inference worker.</summary>
    public InFlightGate Images { get; } = new(images);

    public static OneProcessGates Unbounded { get; } = new(0, 0);
}

/// <summary>A count of items between two stages with a ceiling: entering waits for room.</summary>
public sealed class InFlightGate
{
    private readonly SemaphoreSlim? _slots;
    private readonly Lock _release = new();

    /// <param name="capacity">Items allowed in flight; 0 means unbounded.</param>
    public InFlightGate(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        Capacity = capacity;
        _slots = capacity > 0 ? new SemaphoreSlim(capacity, capacity) : null;
    }

        public int Capacity { get; }

    /// <summary>Items currently in flight.</summary>
    public int Count => _slots is null ? 0 : Capacity - _slots.CurrentCount;

    /// <summary>Waits for room for one more item.</summary>
    public Task EnterAsync(CancellationToken cancellationToken) => _slots?.WaitAsync(cancellationToken) ?? Task.CompletedTask;

    /// <summary>Items left (taken by the next stage, or never sent). A redelivered or retried message may report its
    /// items twice; the count never goes below zero, so that costs at most a little extra room, never a deadlock.</summary>
    public void Leave(int items)
    {
        if (_slots is null || items <= 0)
        {
            return;
        }
        lock (_release)
        {
            var n = Math.Min(items, Capacity - _slots.CurrentCount);
            if (n > 0)
            {
                _slots.Release(n);
            }
        }
    }
}
