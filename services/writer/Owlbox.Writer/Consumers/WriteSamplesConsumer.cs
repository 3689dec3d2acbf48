using Owlbox.Pipeline;
using Owlbox.ServiceDefaults;
using MassTransit;
using Owlbox.Labeling.Boxes;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Datasets.Proposals;
using Owlbox.Jobs;
using Owlbox.Labeling.Policies;
using Owlbox.Verification;

namespace Owlbox.Writer.Consumers;

/// <summary>
/// Writes detection results in batches (one labels-file rewrite per batch for the local backend). Each sample's
/// final boxes are merged into what the sample holds at the moment of writing (read under the dataset's write lock),
/// so concurrent jobs compose and edits made during a job survive. Writing is idempotent: a sample its job already
/// wrote is skipped, late messages of a job that is over are dropped (<see cref="JobBatches"/>), and a result
/// written twice anyway (a crash between the write and the store update) adds nothing, because a box identical to
/// one the sample has is never added again.
/// </summary>
public sealed class WriteSamplesConsumer(IJobStore store, JobPlans plans, IDatasetBackendFactory datasets, WriterFaultInjection faults)
    : IConsumer<Batch<SampleDetected>>
{
    public Task Consume(ConsumeContext<Batch<SampleDetected>> context)
    {
        OwlboxTelemetry.BatchSize.Record(context.Message.Length, new KeyValuePair<string, object?>("stage", Stage.Write.ToName()));
        return JobBatches.ForEachLiveJobAsync(context.Message, m => m.JobId, store, plans,
            (job, results) => WriteAsync(context, job, results), context.CancellationToken);
    }

    private async Task WriteAsync(ConsumeContext context, JobPlan job, IReadOnlyList<SampleDetected> group)
    {
        var (jobId, spec, options) = (job.JobId, job.Spec, job.Options);
        var ct = context.CancellationToken;
        // The last result per sample wins; duplicates inside one batch collapse here, and samples written already go.
        var latest = group.GroupBy(m => m.SampleId).Select(g => g.Last()).ToArray();
        var states = await store.GetSampleStatesAsync(jobId, latest.Select(r => r.SampleId).ToArray(), ct).ConfigureAwait(false);
        var results = latest.Where(r => states.TryGetValue(r.SampleId, out var state) && state != SampleState.Written).ToArray();
        IReadOnlyList<FailedSample> failed = [];
        // Boxes each sample gained: the write path's own account (a box identical to one the sample holds is no add).
        // A preview adds nothing to the labels: there it is the boxes proposed.
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        var failedIds = new HashSet<string>(StringComparer.Ordinal);
        if (results.Length > 0)
        {
            var promptLabels = job.Prompt.Labels.ToHashSet(StringComparer.Ordinal);
            var backend = job.OpenDataset(datasets);
            // The one merge every job write makes (the write path's), applied to what the sample holds at that moment.
            // The job's example boxes are the user's own: a policy that deletes the prompt's labels keeps them.
            var examples = spec.Examples is { } ex && ex.Dataset == spec.Dataset
                ? ex.Boxes.ToLookup(b => b.SampleId, b => new LabeledBox(b.Label, b.X, b.Y, b.Width, b.Height), StringComparer.Ordinal)
                : null;
            LabelUpdate Merge(SampleDetected r) => LabelUpdate.MergeBoxes(r.SampleId, r.Objects.Select(o => o.ToLabeledBox()).ToArray(), promptLabels,
                options.DeleteExisting, metadata => Verified(LabelingMetadata.Merge(metadata, r.ModelType, r.ModelId, spec.Prompt), r, job),
                examples?[r.SampleId].ToArray());
            if (spec.ProposeJobId is { } proposeId)
            {
                var current = await backend.ReadLabelsAsync(results.Select(r => r.SampleId).ToArray(), proposeId, ct).ConfigureAwait(false);
                var proposals = results.Where(r => current.Labels.ContainsKey(r.SampleId))
                    .Select(r => Propose(r, current.Labels[r.SampleId], Merge(r).Edit(current.Labels[r.SampleId])!, options)).ToArray();
                foreach (var r in results)
                {
                    added[r.SampleId] = r.Objects.Count;
                }
                failed = [.. current.Failed, .. await backend.WriteProposalsAsync(new ProposalHeader(proposeId, results[0].ModelId, results[0].ModelType, spec.Prompt,
                    spec.Options.DeleteExisting), proposals, [], ct).ConfigureAwait(false)];
            }
            else
            {
                var written = await backend.UpdateLabelsAsync(results.Select(Merge).ToArray(), ct).ConfigureAwait(false);
                foreach (var change in written.Changes)
                {
                    added[change.SampleId] = added.GetValueOrDefault(change.SampleId) + change.Added.Count;
                }
                failed = written.Failed;
            }
            faults.AfterDatasetWrite();
            failedIds.UnionWith(failed.Select(f => f.SampleId));
            foreach (var f in failed)
            {
                // That sample alone: the rest of the batch was written.
                await context.Publish(new SampleFailed(jobId, f.SampleId, Stage.Write, f.Reason), ct).ConfigureAwait(false);
            }
            foreach (var r in results.Where(r => !failedIds.Contains(r.SampleId)))
            {
                var boxes = added.GetValueOrDefault(r.SampleId); // no change listed: the sample was left as it was
                if (await store.MarkWrittenAsync(jobId, r.SampleId, boxes, r.Milliseconds, ct).ConfigureAwait(false))
                {
                    OwlboxTelemetry.SamplesWritten.Add(1);
                    OwlboxTelemetry.BoxesWritten.Add(boxes);
                }
            }
        }
        // Announced again for a duplicate too (followers de-duplicate by sample id): the first delivery may have
        // died between recording the write and publishing it.
        foreach (var r in latest.Where(r => states.ContainsKey(r.SampleId) && !failedIds.Contains(r.SampleId)))
        {
            await context.Publish(new SampleWritten(jobId, r.SampleId, r.Objects, r.Rejected, r.Milliseconds, r.Verification), ct).ConfigureAwait(false);
        }
        await JobCompletion.TryFinishAsync(store, context, jobId, ct, job.OpenDataset(datasets).FlushAsync).ConfigureAwait(false);
    }

    /// <summary>The verifier's verdicts on the sample's detections, kept or removed, in the order it judged them
    /// (none for an unverified job or sample).</summary>
    private static BoxVerdict[] Verdicts(SampleDetected r) =>
        r.Objects.Concat(r.Removed ?? []).Select(o => o.Verdict()).OfType<BoxVerdict>().OrderBy(v => v.Box).ToArray();

    /// <summary>The metadata with the verification recorded as <c>owlbox verify</c> records it; unchanged when nothing was judged.</summary>
    private static IReadOnlyDictionary<string, string> Verified(IReadOnlyDictionary<string, string> metadata, SampleDetected r, JobPlan job) =>
        job.Spec.Verification is { } v && Verdicts(r) is { Length: > 0 } verdicts
            ? VerificationProvenance.Metadata(metadata, verdicts, LabelQuestion.Ask(v.Prompt, job.Prompt.Labels))
            : metadata;

    private static SampleProposal Propose(SampleDetected r, SampleLabels current, SampleLabels final, Labeling.LabelingOptions options) => new(
        r.SampleId,
        current.Boxes,
        final.Boxes,
        final.Metadata,
        r.Objects.Select(o => new ProposedBox(o.Label, o.X, o.Y, o.Width, o.Height, o.Provenance(r.ModelId, options))).ToArray())
    {
        ExistingMetadata = current.Metadata,
        Verdicts = Verdicts(r) is { Length: > 0 } verdicts ? verdicts : null,
    };
}
