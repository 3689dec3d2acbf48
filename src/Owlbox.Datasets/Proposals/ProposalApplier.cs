using Owlbox.Datasets.Local;

namespace Owlbox.Datasets.Proposals;

/// <summary>Accepts a proposal set into the dataset's labels in one atomic write.</summary>
public static class ProposalApplier
{
    public sealed record Result(int Applied, IReadOnlyList<(string SampleId, string Problem)> Conflicts);

    /// <param name="force">Apply even to samples whose boxes changed after the proposal was made (their edits are lost).</param>
    public static Result Apply(LocalDataset dataset, ProposalSet set, bool force)
    {
        var labels = dataset.Labels;
        var conflicts = new List<(string, string)>();
        var writes = new List<LabelWrite>();
        foreach (var sample in set.Samples)
        {
            if (!File.Exists(Path.Combine(dataset.Directory, sample.SampleId)))
            {
                conflicts.Add((sample.SampleId, "the image is no longer in the dataset"));
                continue;
            }
            var current = labels.GetBoxes(sample.SampleId);
            if (!force && !current.SequenceEqual(sample.ExistingBoxes))
            {
                conflicts.Add((sample.SampleId, $"its boxes changed since the proposal was made ({sample.ExistingBoxes.Count} then, {current.Count} now); re-run the job or apply with --force"));
                continue;
            }
            writes.Add(new LabelWrite(sample.SampleId, new SampleLabels(sample.BoundingBoxes, sample.Metadata)));
        }
        if (writes.Count > 0)
        {
            LabelsFile.Rewrite(dataset.LabelsPath, writes);
        }
        return new Result(writes.Count, conflicts);
    }
}
