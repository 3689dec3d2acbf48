using MassTransit;
using Owlbox.Contracts.V1;

namespace Owlbox.Pipeline;

/// <summary>
/// Back-pressure for the one-process mode, where every stage shares the in-memory bus and nothing else holds an early
/// stage back: the expansion would queue a FetchSample per sample of a 100k-sample dataset at once, and the fetcher
/// would read images into queued messages long before the detector gets to them. Both gates live in the bus pipeline
/// (<see cref="BackPressurePublishFilter{T}"/>, <see cref="BackPressureConsumeFilter{T}"/>): publishing a message
/// waits for room, consuming it to the end frees the room. (On RabbitMQ the broker's queues are the buffers, and their
/// depth is what KEDA scales on, so the filters are not installed there.)
/// </summary>
/// <param name="stopping">Ends every wait for room: when the process stops, the stages that would make room are
/// stopping too.</param>
public sealed class OneProcessGates(int samples, int images, int verifications = 0, CancellationToken stopping = default)
{
    public CancellationToken Stopping => stopping;

    /// <summary>FetchSample messages published by a job's expansion and not yet consumed by a fetcher: the expansion
    /// publishes as this frees room, so queued messages do not grow with the dataset.</summary>
    public InFlightGate Samples { get; } = new(samples);

    /// <summary>Images fetched and not yet through a detector's batch: a fetcher's image waits for room before it is
    /// queued, holding the fetcher's slot, so the fetchers read ahead of the detector by at most this many.</summary>
    public InFlightGate Images { get; } = new(images);

    /// <summary>Detected samples on their way to the verifier, each with its image: a slow model makes the detector
    /// wait rather than the process hold every image of the job (0: unbounded).</summary>
    public InFlightGate Verifications { get; } = new(verifications);

    public static OneProcessGates Unbounded { get; } = new(0, 0);

    public bool IsBounded => Samples.Capacity > 0 || Images.Capacity > 0;

    /// <summary>The gate a message of type <typeparamref name="T"/> passes through, if any.</summary>
    public InFlightGate? For<T>() =>
        typeof(T) == typeof(FetchSample) ? Samples : typeof(T) == typeof(ImageFetched) ? Images : typeof(T) == typeof(VerifySample) ? Verifications : null;
}

/// <summary>Publishing a gated message waits for room in its gate.</summary>
public sealed class BackPressurePublishFilter<T>(OneProcessGates gates) : IFilter<PublishContext<T>>
    where T : class
{
    public async Task Send(PublishContext<T> context, IPipe<PublishContext<T>> next)
    {
        var gate = gates.For<T>();
        if (gate is not null)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, gates.Stopping);
            await gate.EnterAsync(wait.Token).ConfigureAwait(false);
        }
        try
        {
            await next.Send(context).ConfigureAwait(false);
        }
        catch when (gate is not null)
        {
            gate.Leave(1); // never queued
            throw;
        }
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("owlbox-back-pressure");
}

/// <summary>A gated message leaves its gate once consumed, whatever the outcome. A batch consumer's messages reach the
/// bus's consume filters as their batch, so a batch of images leaves together when the batch is done.</summary>
public sealed class BackPressureConsumeFilter<T>(OneProcessGates gates) : IFilter<ConsumeContext<T>>
    where T : class
{
    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        try
        {
            await next.Send(context).ConfigureAwait(false);
        }
        finally
        {
            if (context.Message is Batch<ImageFetched> images)
            {
                gates.Images.Leave(images.Length);
            }
            else
            {
                gates.For<T>()?.Leave(1);
            }
        }
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("owlbox-back-pressure");
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

    /// <summary>Items left (consumed by the next stage, or never sent). A redelivered message may report its item
    /// twice; the count never goes below zero, so that costs at most a little extra room, never a deadlock.</summary>
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
