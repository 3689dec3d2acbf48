using System.Collections.Concurrent;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Jobs;
using Owlbox.Labeling.Prompts;
using Owlbox.Labeling;

namespace Owlbox.Pipeline;

/// <summary>The job as every part uses it: its spec, the prompt parsed (lines, labels) and the options mapped. Built
/// once at submission by the gateway's checks (the prompt with the model's own tokenizer) and shared in that process
/// by the model preflight and every stage (<see cref="JobPlans"/>); a process that did not see the submission builds
/// it once from the store. The gateway checked the spec before it was recorded, so that rebuild does not fail.</summary>
/// <param name="Credential">The project key the job brought, sealed (null: the deployment's own keys serve).</param>
public sealed record JobPlan(Guid JobId, JobSpec Spec, LabelingPrompt Prompt, LabelingOptions Options, JobCredential? Credential = null)
{
    public static JobPlan From(Guid jobId, JobSpec spec, string? sealedCredential = null) =>
        new(jobId, spec, LabelingPrompt.Parse(spec.Prompt), spec.Options.ToLabelingOptions(), sealedCredential is null ? null : new JobCredential(jobId, sealedCredential));

    /// <summary>The job's dataset, opened with the job's own credential where it brought one.</summary>
    public IDatasetBackend OpenDataset(IDatasetBackendFactory datasets) => datasets.Open(Spec.Dataset.Kind, Spec.Dataset.Location, Credential);
}

/// <summary>A job's spec never changes once recorded, so each process holds its plan once: the one the gateway built
/// where the job was submitted in this process, else read and parsed from the store once.</summary>
public sealed class JobPlans(IJobStore store)
{
    private const int Bound = 4096;

    private readonly ConcurrentDictionary<Guid, JobPlan> _plans = new();

    /// <summary>The plan the submission built (a resubmission's replaces the one held: its credential may be new).</summary>
    public void Add(JobPlan plan)
    {
        BoundSize();
        _plans[plan.JobId] = plan;
    }

    public async Task<JobPlan> GetAsync(Guid jobId, CancellationToken cancellationToken)
    {
        if (_plans.TryGetValue(jobId, out var plan))
        {
            return plan;
        }
        var job = await store.FindAsync(jobId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"job {jobId} is not in the job store (is every service configured with the same store?)");
        BoundSize();
        var credential = await store.GetCredentialAsync(jobId, cancellationToken).ConfigureAwait(false);
        return _plans.GetOrAdd(jobId, JobPlan.From(jobId, job.Spec, credential));
    }

    private void BoundSize()
    {
        if (_plans.Count > Bound)
        {
            _plans.Clear(); // cheap to rebuild from the store; this only bounds a long-running process
        }
    }
}
