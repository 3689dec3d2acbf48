using MassTransit;
using Owlbox.Contracts.V1;

namespace Owlbox.Jobs;

/// <summary>How batch consumers walk a batch: one group per job, jobs that are cancelled or unknown skipped, each live
/// job handed its spec and its messages in arrival order.</summary>
public static class JobBatches
{
    public static async Task ForEachLiveJobAsync<T>(Batch<T> batch, Func<T, Guid> jobOf, IJobStore store, JobSpecCache specs,
        Func<Guid, JobSpec, IReadOnlyList<T>, Task> handle, CancellationToken cancellationToken)
        where T : class
    {
        foreach (var group in batch.Select(m => m.Message).GroupBy(jobOf))
        {
            if (await JobCompletion.IsOverAsync(store, group.Key, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }
            var spec = await specs.GetAsync(group.Key, cancellationToken).ConfigureAwait(false);
            await handle(group.Key, spec, group.ToArray()).ConfigureAwait(false);
        }
    }
}
