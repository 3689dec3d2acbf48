namespace Owlbox.Jobs;

/// <summary>
/// Bounds images fetched but not yet taken by a detector, when both run in one process on the in-memory bus. There
/// nothing else holds the fetcher back: it would read a 100k-image dataset into queued messages long before the
/// detector gets to them. (On RabbitMQ the broker's queue is the buffer, and its depth is what KEDA scales on, so
/// the gate is not used there.)
/// </summary>
public sealed class ImagesInFlight
{
    private readonly SemaphoreSlim? _slots;
    private readonly Lock _release = new();

    /// <param name="capacity">Images allowed in flight; 0 means unbounded.</param>
    public ImagesInFlight(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        Capacity = capacity;
        _slots = capacity > 0 ? new SemaphoreSlim(capacity, capacity) : null;
    }

    public static ImagesInFlight Unbounded { get; } = new(0);

    public int Capacity { get; }

    /// <summary>Images currently in flight.</summary>
    public int Count => _slots is null ? 0 : Capacity - _slots.CurrentCount;

    /// <summary>Waits for room for one more image.</summary>
    public Task EnterAsync(CancellationToken cancellationToken) => _slots?.WaitAsync(cancellationToken) ?? Task.CompletedTask;

    /// <summary>Images left the queue (taken by a detector, or never sent). A redelivered batch may report images twice;
    /// the count never goes below zero, so that costs at most a little extra room, never a deadlock.</summary>
    public void Leave(int images)
    {
        if (_slots is null || images <= 0)
        {
            return;
        }
        lock (_release)
        {
            var n = Math.Min(images, Capacity - _slots.CurrentCount);
            if (n > 0)
            {
                _slots.Release(n);
            }
        }
    }
}
