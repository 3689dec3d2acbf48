
using MassTransit;
using Owlbox.Contracts.V1;
using Owlbox.Jobs;

namespace Owlbox.Pipeline;

/// <summary>The one place a job is finished: whoever records a job's last sample calls this, the store lets exactly
/// one caller through, and that caller announces the final state.</summary>
public static class JobCompletion
{
    /// <param name="flush">Makes the job's writes visible where other tools read the dataset
    /// (<see cref="Owlbox.Datasets.IDatasetBackend.FlushAsync"/>), before the store records the end.</param>
    public static async Task TryFinishAsync(IJobStore store, IPublishEndpoint publish, Guid jobId, CancellationToken cancellationToken,
        Func<CancellationToken, Task>? flush = null)
    {
        // The writes are made visible before the store says the job is over: whoever reads the status and then the
        // labels file (a script, a test, Studio) sees them. Every caller that finds no sample pending folds (a fold
        // with nothing pending is free, and two are harmless); the store then lets one of them announce the end.
        if (flush is not null && await store.FindAsync(jobId, cancellationToken).ConfigureAwait(false) is { Total: not null, Pending: <= 0 })
        {
            try
            {
                await flush(cancellationToken).ConfigureAwait(false);
            }
            catch (Owlbox.Datasets.DatasetException)
            {
                // The writes are journaled, never lost: the labels file, made invalid during the job, refuses them
                // and the next open of the dataset names the problem; the journal is folded once it is fixed.
            }
        }
        var job = await store.TryCompleteAsync(jobId, cancellationToken).ConfigureAwait(false);
        if (job is not null)
        {
            await publish.Publish(new LabelingJobCompleted(jobId, job.Status, job.Total ?? 0, job.Written, job.Failed), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>True when the job has ended (completed, cancelled, superseded) or is unknown: its in-flight and late
    /// messages are dropped, so a duplicate delivered after the end can never put old boxes back.</summary>
    public static async Task<bool> IsOverAsync(IJobStore store, Guid jobId, CancellationToken cancellationToken)
    {
        var status = await store.GetStatusAsync(jobId, cancellationToken).ConfigureAwait(false);
        return status is not { } s || s.IsFinal();
    }
}
