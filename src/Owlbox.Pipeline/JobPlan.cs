using System.Collections.Concurrent;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Jobs;
using Owlbox.Labeling.Prompts;
using Owlbox.Labeling;

namespace Owlbox.Pipeline;

/// <summary>A job as every stage uses it: its spec, parsed once (prompt lines, labels, thresholds, filters, policy).
/// The gateway checked it before it was recorded, so parsing here does not fail for a recorded job.</summary>
/// <param name="Credential">The project key the job brought, sealed (null: the deployment's own keys serve).</param>
public sealed record JobPlan(Guid JobId, JobSpec Spec, LabelingPrompt Prompt, LabelingOptions Options, JobCredential? Credential = null)
{
    public static JobPlan From(Guid jobId, JobSpec spec, string? sealedCredential = null) =>
        new(jobId, spec, LabelingPrompt.Parse(spec.Prompt), spec.Options.ToLabelingOptions(), sealedCredential is null ? null : new JobCredential(jobId, sealedCredential));

    /// <summary>The job's dataset, opened with the job's own credential where it brought one.</summary>
    public IDatasetBackend OpenDataset(IDatasetBackendFactory datasets) => datasets.Open(Spec.Dataset.Kind, Spec.Dataset.Location, Credential);
}

/// <summary>A job's spec never changes once recorded, so each process reads and parses it once.</summary>
public sealed class JobPlans(IJobStore store)
{
    private readonly ConcurrentDictionary<Guid, JobPlan> _plans = new();

    public async Task<JobPlan> GetAsync(Guid jobId, CancellationToken cancellationToken)
    {
        if (_plans.TryGetValue(jobId, out var plan))
        {
            return plan;
        }
        var job = await store.FindAsync(jobId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"job {jobId} is not in the job store (is every service configured with the same store?)");
        if (_plans.Count > 4096)
        {
            _plans.Clear(); // cheap to rebuild; this only bounds a long-running process
        }
        var credential = await store.GetCredentialAsync(jobId, cancellationToken).ConfigureAwait(false);
        return _plans.GetOrAdd(jobId, JobPlan.From(jobId, job.Spec, credential));
    }
}
