using Owlbox.Datasets.Local;

namespace Owlbox.Datasets.Proposals;

/// <summary>Accepts a proposal set into a local dataset's labels in one atomic write, under the lock every writer of
/// the labels file takes, so an apply during a running job neither loses the job's boxes nor has its own lost.</summary>
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
            if (!File.Exists(Path.Combine(directory, sample.SampleId)))
            {
                conflicts.Add((sample.SampleId, "the image is no longer in the dataset"));
                continue;
            }
            updates.Add(new LabelUpdate(sample.SampleId, current =>
            {
                var proposed = new SampleLabels(sample.BoundingBoxes, sample.Metadata);
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
        await using (await LocalDatasetBackend.LockLabelsAsync(directory, cancellationToken).ConfigureAwait(false))
        {
            LabelsFile.Update(Path.Combine(directory, LabelsFile.FileName), updates);
        }
        conflicts.AddRange(outcomes.Where(o => o.Value is not null).Select(o => (o.Key, o.Value!)));
        return new Result(outcomes.Count(o => o.Value is null), conflicts);
    }

    private static string? Changed(SampleProposal sample, SampleLabels current)
    {
        if (!current.Boxes.SequenceEqual(sample.ExistingBoxes))
        {
            return $"its boxes changed since the proposal was made ({sample.ExistingBoxes.Count} then, {current.Boxes.Count} now)";
        }
        return sample.ExistingMetadata is { } metadata && !SampleLabels.SameMetadata(metadata, current.Metadata)
            ? "its metadata changed since the proposal was made"
            : null;
    }
}
