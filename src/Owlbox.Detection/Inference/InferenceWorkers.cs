using System.Collections.Concurrent;

namespace Owlbox.Detection.Inference;

/// <summary>
/// Dedicated threads that take images through the session, one image each at a time: decode, preprocess, run,
/// filter. Each worker decodes its own next image while the other workers' runs keep the cores (or the GPU) busy, so
/// decoding overlaps inference without a decoder ever preempting a run's threads (on a CPU whose cores all belong to
/// one run, a concurrent decoder stalls the whole run at its next barrier). Dedicated threads, not the thread pool:
/// a run blocks its thread for the whole inference.
/// </summary>
public sealed class InferenceWorkers : IDisposable
{
    private readonly BlockingCollection<Action> _queue = new();
    private readonly Thread[] _threads;

    public InferenceWorkers(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _threads = new Thread[count];
        for (var i = 0; i < count; i++)
        {
            _threads[i] = new Thread(Work) { IsBackground = true, Name = $"owlbox-inference-{i}" };
            _threads[i].Start();
        }
    }

    public int Count => _threads.Length;

    /// <summary>Queues <paramref name="work"/> behind what is already queued (first in, first out).</summary>
    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Add(() =>
        {
            if (cancellationToken.IsCancellationRequested)
            {
                done.TrySetCanceled(cancellationToken);
                return;
            }
            try
            {
                done.TrySetResult(work());
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        }, CancellationToken.None);
        return done.Task;
    }

    private void Work()
    {
        foreach (var item in _queue.GetConsumingEnumerable())
        {
            item();
        }
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        foreach (var t in _threads)
        {
            t.Join();
        }
        _queue.Dispose();
    }
}
