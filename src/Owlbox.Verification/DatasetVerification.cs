using Microsoft.Extensions.AI;
using Owlbox.Datasets;
using Owlbox.Datasets.Proposals;
using Owlbox.Detection.Imaging;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Verification;

/// <summary>A verification run over a dataset's existing boxes.</summary>
public sealed record VerifyRunOptions
{
    /// <summary>The relabel block's parameters and the rest. Its <see cref="VerifierOptions.AllowedLabels"/> is
    /// replaced as <see cref="AllowedLabels"/> says.</summary>
    public VerifierOptions Verifier { get; init; } = new();

    /// <summary><c>--labels</c>: null, the dataset's labels (every box's label in the samples read); empty, any answer
    /// (the block's free text); otherwise these. The disable words are allowed on top.</summary>
    public IReadOnlyList<string>? AllowedLabels { get; init; }

    /// <summary>The samples to verify (<c>--data-ids-file</c>); null: all.</summary>
    public IReadOnlyList<string>? SampleIds { get; init; }

    /// <summary>Preview (<c>--propose-actions</c>): a proposal set of this id is written and the labels are untouched;
    /// samples are read as this job's earlier steps proposed them (Studio's <c>proposedActionsJobId</c>).</summary>
    public string? ProposeJobId { get; init; }

    /// <summary>Decide only: nothing is written (<c>owlbox eval --verify</c> measures the decisions). Answers are still
    /// cached, so the run that applies them later asks nothing again.</summary>
    public bool DryRun { get; init; }

    /// <summary>Larger images fail their sample.</summary>
    public long MaxImageBytes { get; init; } = 200L * 1024 * 1024;

    /// <summary>Samples written per batch (the local labels file is rewritten once per batch).</summary>
    public int WriteBatch { get; init; } = 64;
}

/// <summary>One sample's outcome: its decisions (in the order of the boxes verified) or why it failed.</summary>
public sealed record SampleVerification(string SampleId, IReadOnlyList<LabeledBox> Boxes, IReadOnlyList<BoxDecision> Decisions, string? Failure)
{
    public bool Failed => Failure is not null;
}

/// <summary>What a run did: per sample, the failures (each with its reason), and the counts a user is shown.</summary>
public sealed record VerifyRunResult(
    IReadOnlyList<SampleVerification> Samples,
    IReadOnlyList<FailedSample> Failed,
    int SamplesChanged,
    long Calls,
    long CacheHits,
    long BudgetLeft,
    TokenUsage Usage,
    string Model,
    IReadOnlyList<string> AllowedAnswers)
{
    public int Count(DecisionKind kind) => Samples.Sum(s => s.Decisions.Count(d => d.Kind == kind));
}

/// <summary>
/// <c>owlbox verify</c> as a service: reads the selected samples' boxes, shows each selected box's crop to the model
/// (<see cref="BoxVerifier"/>: cached, budgeted, retried), and applies the decisions through the one label-write path
/// (<see cref="IDatasetBackend.UpdateLabelsAsync"/> with <see cref="VerificationProvenance.Update"/>), or in preview
/// writes every verified sample's proposal with its verdicts and leaves the labels untouched. A sample whose image
/// cannot be read, or one of whose boxes could not be verified, fails alone with its boxes unchanged. The same run
/// serves a local folder and an Edge Impulse project.
/// </summary>
public sealed class DatasetVerification(IDatasetBackend dataset, IChatClient client, IAnswerCache cache, CallBudget budget)
{
    /// <exception cref="LlmCallException">A setup error (wrong key, unknown model, wrong endpoint): nothing was written.</exception>
    public async Task<VerifyRunResult> RunAsync(VerifyRunOptions options, IProgress<SampleVerification>? progress, CancellationToken cancellationToken)
    {
        var selection = await dataset.SelectAsync(options.SampleIds, cancellationToken).ConfigureAwait(false);
        var failed = selection.Missing.Select(m => new FailedSample(m.Id, m.Problem)).ToList();
        var ids = selection.Found.ToArray();
        var read = await dataset.ReadLabelsAsync(ids, options.ProposeJobId, cancellationToken).ConfigureAwait(false);
        failed.AddRange(read.Failed);
        var allowed = options.AllowedLabels
            ?? read.Labels.Values.SelectMany(l => l.Boxes).Select(b => b.Label.Trim()).Where(l => l.Length > 0)
                .DistinctBy(l => l.ToLowerInvariant()).Order(StringComparer.Ordinal).ToArray();
        var verifierOptions = options.Verifier with { AllowedLabels = allowed };
        using var verifier = new BoxVerifier(client, verifierOptions, cache, budget);
        var samples = new List<SampleVerification>();
        var changed = 0;
        var header = new ProposalHeader(options.ProposeJobId ?? "", verifierOptions.Model, "vlm-verify", verifierOptions.Prompt, "no");
        foreach (var batch in ids.Where(read.Labels.ContainsKey).Chunk(Math.Max(1, options.WriteBatch)))
        {
            var results = new SampleVerification[batch.Length];
            await Parallel.ForEachAsync(Enumerable.Range(0, batch.Length),
                new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, verifierOptions.Concurrency), CancellationToken = cancellationToken },
                async (i, ct) =>
                {
                    results[i] = await VerifySampleAsync(verifier, batch[i], read.Labels[batch[i]], options.MaxImageBytes, ct).ConfigureAwait(false);
                    progress?.Report(results[i]);
                }).ConfigureAwait(false);
            samples.AddRange(results);
            failed.AddRange(results.Where(r => r.Failed).Select(r => new FailedSample(r.SampleId, r.Failure!)));
            var good = results.Where(r => !r.Failed).ToArray();
            if (options.DryRun)
            {
                changed += good.Count(r => r.Decisions.Any(d => d.Kind is DecisionKind.Relabelled or DecisionKind.Removed));
            }
            else if (options.ProposeJobId is not null)
            {
                // Every sample read gets a proposal, changed or not, as Studio expects of a preview.
                var proposals = good.Select(r => Proposal(r, read.Labels[r.SampleId], verifierOptions.Prompt)).ToArray();
                var refused = await dataset.WriteProposalsAsync(header, proposals, results.Where(r => r.Failed)
                    .Select(r => new FailedSample(r.SampleId, r.Failure!)).ToArray(), cancellationToken).ConfigureAwait(false);
                failed.AddRange(refused);
                changed += proposals.Count(p => !p.BoundingBoxes.SequenceEqual(p.ExistingBoxes) && !refused.Any(f => f.SampleId == p.SampleId));
            }
            else
            {
                var updates = good.Select(r => VerificationProvenance.Update(r.SampleId, r.Boxes, r.Decisions, verifierOptions.Prompt)).ToArray();
                var written = await dataset.UpdateLabelsAsync(updates, cancellationToken).ConfigureAwait(false);
                failed.AddRange(written.Failed);
                changed += written.Changes.Count(c => c.ChangedBoxes);
            }
        }
        // Batches a local dataset journaled are folded into its labels file before the run says it is done.
        await dataset.FlushAsync(cancellationToken).ConfigureAwait(false);
        return new VerifyRunResult(samples, failed, changed, verifier.Calls, verifier.CacheHits, budget.Left, verifier.Usage,
            verifierOptions.Model, verifierOptions.AllowedAnswers);
    }

    private async Task<SampleVerification> VerifySampleAsync(BoxVerifier verifier, string sampleId, SampleLabels labels, long maxBytes, CancellationToken cancellationToken)
    {
        var boxes = labels.Boxes;
        var asked = boxes.Select(b => new VerifyBox(b.Label, new PixelBox(b.X, b.Y, b.Width, b.Height), b.Score)).ToArray();
        try
        {
            // An image with no box to ask about is not read (on Edge Impulse, not downloaded).
            var image = asked.Any(verifier.Asks) ? await dataset.ReadImageAsync(sampleId, maxBytes, cancellationToken).ConfigureAwait(false) : [];
            var result = await verifier.VerifyAsync(image, asked, cancellationToken).ConfigureAwait(false);
            var failure = result.Failed
                ? string.Join("; ", result.Decisions.Where(d => d.IsFailure).Select(d => $"box {d.Index} ({d.From} at {boxes[d.Index].X},{boxes[d.Index].Y} {boxes[d.Index].Width}x{boxes[d.Index].Height}): {d.Reason}"))
                : null;
            return new SampleVerification(sampleId, boxes, result.Decisions, failure);
        }
        catch (Exception e) when (e is ImageDecodeException or DatasetException or IOException)
        {
            return new SampleVerification(sampleId, boxes, [], $"the image could not be read: {e.Message}");
        }
    }

    private static SampleProposal Proposal(SampleVerification r, SampleLabels labels, string prompt) =>
        new(r.SampleId, labels.Boxes, VerificationProvenance.Apply(labels.Boxes, r.Decisions),
            VerificationProvenance.Metadata(labels.Metadata, r.Decisions, prompt), [])
        {
            ExistingMetadata = labels.Metadata,
            Verdicts = VerificationProvenance.Verdicts(r.Decisions),
        };
}
