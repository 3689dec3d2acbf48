
using MassTransit;
using Owlbox.Contracts.V1;
using Owlbox.Jobs;

namespace Owlbox.Pipeline;

/// <summary>The one place a job is finished: whoever records a job's last sample calls this, the store lets exactly
/// one caller through, and that caller announces the final state.</summary>
public static class JobCompletion
{
    public static async Task TryFinishAsync(IJobStore store, IPublishEndpoint publish, Guid jobId, CancellationToken cancellationToken)
    {
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
