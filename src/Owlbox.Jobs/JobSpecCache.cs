using System.Collections.Concurrent;
using Owlbox.Contracts.V1;

namespace Owlbox.Jobs;

/// <summary>A job's spec never changes once recorded, so each process reads it from the store once.</summary>
public sealed class JobSpecCache(IJobStore store)
{
    private readonly ConcurrentDictionary<Guid, JobSpec> _specs = new();

    public async Task<JobSpec> GetAsync(Guid jobId, CancellationToken cancellationToken)
    {
        if (_specs.TryGetValue(jobId, out var spec))
        {
            return spec;
        }
        var job = await store.FindAsync(jobId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"job {jobId} is not in the job store (is every service configured with the same store?)");
        return _specs.GetOrAdd(jobId, job.Spec);
    }
}
