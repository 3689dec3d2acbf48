using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Proposals;

/// <summary>Accepts a proposal set into a local dataset's labels in one atomic write through the write path every
/// writer of the labels file takes (its lock, its refusal of images not in the folder), so an apply during a running
/// job neither loses the job's boxes nor has its own lost.</summary>
public static class ProposalApplier
{
    public sealed record Result(int Applied, IReadOnlyList<(string SampleId, string Problem)> Conflicts);

    /// <param name="force">Apply even to samples whose labels changed after the proposal was made (their edits are lost).</param>
    public static async Task<Result> ApplyAsync(string directory, ProposalSet set, bool force, CancellationToken cancellationToken)
    {
        var conflicts = new List<(string, string)>();
        // By sample, not counted as edits run: an edit runs again when the file changed under the write.
        var outcomes = new Dictionary<string, string?>(StringComparer.Ordinal);
        var updates = new List<LabelUpdate>();
        foreach (var sample in set.Samples)
        {
            updates.Add(new LabelUpdate(sample.SampleId, current =>
            {
                var proposed = new SampleLabels(Without(sample.BoundingBoxes, Decided(sample, ReviewDecision.Rejected)), sample.Metadata);
                if (current.SameAs(proposed))
                {
                    outcomes[sample.SampleId] = null; // applied before (an apply that stopped part-way, run again)
                    return null;
                }
                if (!force && Changed(sample, current) is { } change)
                {
                    outcomes[sample.SampleId] = $"{change}; re-run the job or apply with --force";
                    return null;
                }
                outcomes[sample.SampleId] = null;
                return proposed;
            }));
        }
        // The write path refuses an image no longer in the folder: that sample is a conflict, the others are applied.
        var written = await new LocalDatasetBackend(directory, writeThrough: true).UpdateLabelsAsync(updates, cancellationToken).ConfigureAwait(false);
        conflicts.AddRange(written.Failed.Select(f => (f.SampleId, "the image is no longer in the dataset")));
        conflicts.AddRange(outcomes.Where(o => o.Value is not null).Select(o => (o.Key, o.Value!)));
        return new Result(outcomes.Count(o => o.Value is null), conflicts);
    }

    /// <summary>The boxes a reviewer decided on the review page.</summary>
    private static LabeledBox[] Decided(SampleProposal sample, ReviewDecision decision) =>
        sample.Detections.Where(d => d.Decision == decision).Select(d => d.ToLabeledBox()).ToArray();

    /// <summary><paramref name="boxes"/> less one occurrence of each of <paramref name="remove"/>.</summary>
    private static LabeledBox[] Without(IReadOnlyList<LabeledBox> boxes, IReadOnlyList<LabeledBox> remove)
    {
        var left = boxes.ToList();
        foreach (var r in remove)
        {
            left.Remove(r);
        }
        return [.. left];
    }

    /// <summary>The same boxes, each as often, in any order.</summary>
    private static bool SameBoxes(IEnumerable<LabeledBox> a, IEnumerable<LabeledBox> b)
    {
        var counts = a.CountBy(x => x).ToDictionary();
        var other = b.CountBy(x => x).ToDictionary();
        return counts.Count == other.Count && counts.All(kv => other.TryGetValue(kv.Key, out var n) && n == kv.Value);
    }

    /// <summary>Boxes accepted on the review page are already in the labels (appended): those are not a change.</summary>
    private static string? Changed(SampleProposal sample, SampleLabels current)
    {
        var expected = sample.ExistingBoxes.Concat(Decided(sample, ReviewDecision.Accepted));
        if (!SameBoxes(current.Boxes, expected))
        {
            return $"its boxes changed since the proposal was made ({sample.ExistingBoxes.Count} then, {current.Boxes.Count} now)";
        }
        return sample.ExistingMetadata is { } metadata && !SampleLabels.SameMetadata(metadata, current.Metadata)
            ? "its metadata changed since the proposal was made"
            : null;
    }
}
