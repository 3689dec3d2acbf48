using MassTransit;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Datasets.Proposals;
using Owlbox.Jobs;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Policies;
using Owlbox.Labeling.Prompts;
using Owlbox.Labeling.Provenance;

namespace Owlbox.Writer.Consumers;

/// <summary>
/// Writes detection results in batches (one labels-file rewrite per batch for the local backend). Each sample's
/// final boxes are computed from its snapshot taken when the job was expanded, never from what is in the dataset
/// now, so a redelivered or duplicated result rewrites the same list instead of adding boxes again.
/// </summary>
public sealed class WriteSamplesConsumer(IJobStore store, JobSpecCache specs, IDatasetBackendFactory datasets, WriterFaultInjection faults)
    : IConsumer<Batch<SampleDetected>>
{
    public Task Consume(ConsumeContext<Batch<SampleDetected>> context) =>
        JobBatches.ForEachLiveJobAsync(context.Message, m => m.JobId, store, specs,
            (jobId, spec, results) => WriteAsync(context, jobId, spec, results), context.CancellationToken);

    private async Task WriteAsync(ConsumeContext context, Guid jobId, JobSpec spec, IReadOnlyList<SampleDetected> group)
    {
        var ct = context.CancellationToken;
        var options = spec.Options.ToLabelingOptions();
        var promptLabels = LabelingPrompt.Parse(spec.Prompt).Labels.ToHashSet(StringComparer.Ordinal);
        var backend = datasets.Open(spec.Dataset.Kind, spec.Dataset.Location);
        // The last result per sample wins; duplicates inside one batch collapse here.
        var results = group.GroupBy(m => m.SampleId).Select(g => g.Last()).ToArray();
        var writes = new List<(SampleDetected Result, SampleLabels Before, SampleLabels Final)>();
        foreach (var r in results)
        {
            var before = SnapshotJson.Deserialize(await store.GetSnapshotAsync(jobId, r.SampleId, ct).ConfigureAwait(false));
            var added = r.Objects.Select(o => new LabeledBox(o.Label, o.X, o.Y, o.Width, o.Height)).ToArray();
            var boxes = LabelMerge.Merge(before.Boxes, added, promptLabels, options.DeleteExisting);
            var metadata = LabelingMetadata.Merge(before.Metadata, r.ModelType, r.ModelId, spec.Prompt);
            writes.Add((r, before, new SampleLabels(boxes, metadata)));
        }
        if (spec.ProposeJobId is { } proposeId)
        {
            var first = results[0];
            var proposals = writes.Select(w => new SampleProposal(
                w.Result.SampleId,
                w.Before.Boxes,
                w.Final.Boxes,
                w.Final.Metadata,
                w.Result.Objects.Select(o => new ProposedBox(o.Label, o.X, o.Y, o.Width, o.Height, new BoxProvenance(
                    w.Result.ModelId, o.PromptLine, o.SearchText, o.Score, o.MinConfidence, options.ScoreFloor, options.Filter.Nms,
                    options.Filter.NmsIouThreshold, options.Filter.ClassAgnosticNms, options.Filter.IgnoreSmallerThanPercent,
                    options.Filter.IgnoreLargerThanPercent))).ToArray())).ToArray();
            await backend.WriteProposalsAsync(new ProposalHeader(proposeId, first.ModelId, first.ModelType, spec.Prompt, spec.Options.DeleteExisting),
                proposals, [], ct).ConfigureAwait(false);
        }
        else
        {
            await backend.WriteLabelsAsync(writes.Select(w => new LabelWrite(w.Result.SampleId, w.Final)).ToArray(), ct).ConfigureAwait(false);
        }
        faults.AfterDatasetWrite();
        foreach (var (r, _, _) in writes)
        {
            if (await store.MarkWrittenAsync(jobId, r.SampleId, r.Objects.Count, r.Milliseconds, ct).ConfigureAwait(false))
            {
                OwlboxTelemetry.SamplesWritten.Add(1);
                OwlboxTelemetry.BoxesWritten.Add(r.Objects.Count);
            }
            await context.Publish(new SampleWritten(jobId, r.SampleId, r.Objects, r.Rejected, r.Milliseconds), ct).ConfigureAwait(false);
        }
        await JobCompletion.TryFinishAsync(store, context, jobId, ct).ConfigureAwait(false);
    }
}
