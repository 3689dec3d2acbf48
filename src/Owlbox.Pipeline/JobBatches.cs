using MassTransit;
using Owlbox.Jobs;

namespace Owlbox.Pipeline;

/// <summary>How batch consumers walk a batch: one group per job, jobs that are over or unknown skipped, each live
/// job handed its plan and its messages in arrival order.</summary>
public static class JobBatches
{
    public static async Task ForEachLiveJobAsync<T>(Batch<T> batch, Func<T, Guid> jobOf, IJobStore store, JobPlans plans,
        Func<JobPlan, IReadOnlyList<T>, Task> handle, CancellationToken cancellationToken)
        where T : class
    {
        foreach (var group in batch.Select(m => m.Message).GroupBy(jobOf))
        {
            if (await JobCompletion.IsOverAsync(store, group.Key, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }
            var plan = await plans.GetAsync(group.Key, cancellationToken).ConfigureAwait(false);
            await handle(plan, group.ToArray()).ConfigureAwait(false);
        }
    }
}
