using Owlbox.Pipeline;
using System.Text.Json;
using MassTransit;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Datasets.Proposals;
using Owlbox.Models;
using Owlbox.Jobs;
using Owlbox.Labeling;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Gateway;

/// <summary>
/// Accepts a job: checks everything that would fail the whole job (options, prompt grammar and token lengths with
/// the model's own tokenizer, model, dataset and its labels), records it, and publishes it. Submitting an existing
/// job id with the same spec resumes it, even once cancelled or finished (samples already written are skipped); a
/// different spec is refused. The checks build the job's <see cref="JobPlan"/> (prompt parsed, options mapped), which
/// the model preflight and every stage of this process then use as it is (<see cref="JobPlans"/>); the model and its
/// tokenizer come from the <see cref="ModelCatalog"/>, read once per process, not per submission.
/// </summary>
public sealed class JobSubmitter(IJobStore store, IPublishEndpoint publish, ModelCatalog models, IDatasetBackendFactory datasets,
    JobPlans plans, IEnumerable<IModelPreflight> preflights)
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    /// <param name="Samples">Samples the job names (found or not), as counted at submission; null where this process
    /// may not list the dataset (a gateway without the Studio key): the fetcher lists it.</param>
    /// <param name="Plan">The job as this process's stages use it.</param>
    /// <param name="Model">The job's model, as the catalog read it.</param>
    public sealed record Accepted(Guid JobId, bool Resumed, int? Samples, JobPlan Plan, OwlModel Model);

    /// <param name="sealedCredential">The project key the job brought, sealed for this deployment and this job (the
    /// block's, on a fleet serving many projects); it is checked here by listing the project with it, and kept for
    /// the job's fetchers and writers until the job ends.</param>
    public async Task<Accepted> SubmitAsync(Guid jobId, JobSpec spec, CancellationToken cancellationToken, string? sealedCredential = null)
    {
        var credential = sealedCredential is null ? null : new JobCredential(jobId, sealedCredential);
        var (plan, model, samples) = await CheckAsync(jobId, spec, credential, cancellationToken).ConfigureAwait(false);
        spec = plan.Spec; // with the example boxes gathered
        if (spec.ProposeJobId is { } proposeId && spec.Dataset.Kind == "local"
            && await store.FindAsync(jobId, cancellationToken).ConfigureAwait(false) is null)
        {
            // Only a job resuming (its own id) writes on into its proposal set; Studio's preview jobs are meant to be
            // continued step by step, so only local sets are checked.
            try
            {
                new ProposalStore(spec.Dataset.Location).RequireUnused(proposeId);
            }
            catch (DatasetException e)
            {
                throw new JobValidationException([e.Message]);
            }
        }
        var created = await store.TryCreateAsync(jobId, spec, cancellationToken).ConfigureAwait(false);
        if (!created)
        {
            var existing = await store.FindAsync(jobId, cancellationToken).ConfigureAwait(false);
            if (existing is not null && JsonSerializer.Serialize(existing.Spec, s_json) != JsonSerializer.Serialize(spec, s_json))
            {
                throw new JobValidationException([$"job {jobId} exists with a different spec; resubmit it unchanged to resume it, or use a new job id"]);
            }
            // A resubmission resumes the job whatever became of it (cancelled, or finished with failures to retry):
            // samples it wrote are skipped. Only a job a fresh run replaced stays closed.
            if (existing is not null && !await store.ReopenAsync(jobId, cancellationToken).ConfigureAwait(false))
            {
                throw new JobValidationException([$"job {jobId} was superseded by a fresh run; submit a new job id"]);
            }
        }
        if (sealedCredential is not null)
        {
            await store.SetCredentialAsync(jobId, sealedCredential, cancellationToken).ConfigureAwait(false);
        }
        else if (!created && await store.GetCredentialAsync(jobId, cancellationToken).ConfigureAwait(false) is { } kept)
        {
            plan = plan with { Credential = new JobCredential(jobId, kept) }; // resumed without a key: the one it brought serves
        }
        plans.Add(plan);
        await publish.Publish(new LabelingJobSubmitted(jobId, spec), cancellationToken).ConfigureAwait(false);
        return new Accepted(jobId, !created, samples, plan, model);
    }

    /// <summary>A verification stage that could not run: each problem names its field.</summary>
    public static IEnumerable<string> VerificationProblems(VerificationSpec v)
    {
        if (!(v.VerifyBelow > 0 && v.VerifyBelow <= 1))
        {
            yield return $"verification.verifyBelow must be above 0 and at most 1, got {v.VerifyBelow}";
        }
        if (!Uri.TryCreate(v.Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            yield return $"verification.endpoint must be an http or https URL, got '{v.Endpoint}'";
        }
        if (string.IsNullOrWhiteSpace(v.Model))
        {
            yield return "verification.model is empty";
        }
        if (v.MaxCalls is < 0)
        {
            yield return $"verification.maxCalls must be 0 or more, got {v.MaxCalls}";
        }
    }

    /// <returns>The job's plan, its model and how many samples it names (null: not listable from this process).</returns>
    private async Task<(JobPlan Plan, OwlModel Model, int? Samples)> CheckAsync(Guid jobId, JobSpec spec, JobCredential? credential,
        CancellationToken cancellationToken)
    {
        var errors = new List<string>();
        int? samples = null;
        LabelingOptions? options = null;
        LabelingPrompt? prompt = null;
        OwlModel? model = null;
        try
        {
            options = spec.Options.ToLabelingOptions();
            errors.AddRange(options.Validate());
        }
        catch (ArgumentException e)
        {
            errors.Add(e.Message);
        }
        if (spec.Verification is { } verify)
        {
            errors.AddRange(VerificationProblems(verify));
        }
        try
        {
            model = models.Load(spec.Model, spec.ModelVariant);
            var tokenizer = models.Tokenizer(spec.Model, spec.ModelVariant);
            prompt = ParsePrompt(spec.Prompt, errors, t => tokenizer.Encode(t).Length, model.MaxTextTokens);
        }
        catch (ModelException e)
        {
            errors.Add(e.Message);
            ParsePrompt(spec.Prompt, errors);
        }
        if (spec.ProposeJobId is { } proposeId)
        {
            try
            {
                ProposalStore.ValidateJobId(proposeId);
            }
            catch (DatasetException e)
            {
                errors.Add(e.Message);
            }
        }
        try
        {
            // Lists the dataset and checks its labels: an unreadable dataset or labels file stops the job here.
            var dataset = datasets.Open(spec.Dataset.Kind, spec.Dataset.Location, credential);
            var selection = await dataset.SelectAsync(spec.SampleIds, cancellationToken).ConfigureAwait(false);
            await dataset.CheckLabelsAsync(cancellationToken).ConfigureAwait(false);
            samples = selection.Found.Count + selection.Missing.Count;
            if (samples == 0)
            {
                errors.Add($"no images to label in {spec.Dataset.Kind} dataset '{spec.Dataset.Location}'");
            }
            if (prompt is not null)
            {
                spec = await WithExamplesAsync(jobId, spec, prompt, dataset, errors, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (CredentialNotHeldException)
        {
            // The endpoint and project were checked; listing needs the key, which only fetchers and writers hold.
        }
        catch (DatasetException e)
        {
            errors.Add(e.Message);
        }
        var plan = errors.Count == 0 ? new JobPlan(jobId, spec, prompt!, options!, credential) : null;
        if (plan is not null)
        {
            try
            {
                foreach (var preflight in preflights)
                {
                    preflight.Check(plan); // the costliest check, so the last
                }
            }
            catch (ModelException e)
            {
                errors.Add(e.Message);
            }
        }
        if (errors.Count > 0)
        {
            throw new JobValidationException(errors);
        }
        return (plan!, model!, samples);
    }

    /// <summary>
    /// The spec with its example boxes: those it brought (checked to serve every example line), those the job had when
    /// it was first submitted (a resumed job keeps its queries, though its own boxes have joined the dataset since), or
    /// every box of an example line's label in the job's dataset, read once here.
    /// </summary>
    private async Task<JobSpec> WithExamplesAsync(Guid jobId, JobSpec spec, LabelingPrompt prompt, IDatasetBackend dataset, List<string> errors,
        CancellationToken cancellationToken)
    {
        if (!prompt.Lines.Any(l => l.IsExample))
        {
            return spec;
        }
        if (spec.Examples is { } given)
        {
            errors.AddRange(ExampleGathering.Missing(prompt.Lines, given.Boxes, $"the examples from {given.Dataset.Kind} dataset '{given.Dataset.Location}'"));
            return spec;
        }
        if (await store.FindAsync(jobId, cancellationToken).ConfigureAwait(false) is { Spec.Examples: { } kept } existing
            && JsonSerializer.Serialize(existing.Spec with { Examples = null }, s_json) == JsonSerializer.Serialize(spec, s_json))
        {
            return spec with { Examples = kept };
        }
        var (examples, missing) = await ExampleGathering.GatherAsync(prompt.Lines, spec.Dataset, dataset, cancellationToken).ConfigureAwait(false);
        errors.AddRange(missing);
        return spec with { Examples = examples };
    }

    /// <summary>The prompt, parsed once; its errors (every bad line) join the job's.</summary>
    private static LabelingPrompt? ParsePrompt(string text, List<string> errors, Func<string, int>? countTokens = null, int maxTokens = PromptGrammar.DefaultMaxTokens)
    {
        try
        {
            return LabelingPrompt.Parse(text, countTokens, maxTokens);
        }
        catch (InvalidPromptException e)
        {
            errors.AddRange(e.Errors.Select(x => x.ToString()));
            return null;
        }
    }
}
