using Owlbox.Datasets.Proposals;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Policies;

namespace Owlbox.Datasets;

public sealed record LabelWrite(string SampleId, SampleLabels Labels);

/// <summary>How a sample's labels change, decided from what the sample holds at the moment of writing (for a local
/// folder, under the lock every writer of its labels file takes): returns the new labels, or null to leave the
/// sample as it is. It may run more than once (the file changed under the write): it must not count its runs.</summary>
public delegate SampleLabels? LabelEdit(SampleLabels current);

/// <summary>
/// One sample's edit, given to <see cref="IDatasetBackend.UpdateLabelsAsync"/>, the one write path of labels. The
/// factories are the edits Owlbox's writers make, each defined here once: a job's merge, an accept on the review page,
/// a removal, an import's replacement, an undo.
/// </summary>
public sealed record LabelUpdate(string SampleId, LabelEdit Edit)
{
    /// <summary>An update that sets the labels whatever the sample holds.</summary>
    public static LabelUpdate Set(LabelWrite write) => new(write.SampleId, _ => write.Labels);

    /// <summary>A job's result (or accepted proposals): the existing boxes the policy keeps, then the new boxes, never
    /// one identical to a box the sample has (<see cref="LabelMerge"/>); metadata changed by
    /// <paramref name="metadata"/> when given; <paramref name="kept"/> (the job's example boxes on this sample) are
    /// never deleted.</summary>
    public static LabelUpdate MergeBoxes(string sampleId, IReadOnlyList<LabeledBox> boxes, IReadOnlyCollection<string> promptLabels,
        DeleteExistingPolicy policy, Func<IReadOnlyDictionary<string, string>, IReadOnlyDictionary<string, string>>? metadata = null,
        IReadOnlyCollection<LabeledBox>? kept = null) =>
        new(sampleId, current => new SampleLabels(
            LabelMerge.Merge(current.Boxes, boxes, promptLabels, policy, kept),
            metadata is null ? current.Metadata : metadata(current.Metadata)));

    /// <summary>An import: the sample's boxes become exactly <paramref name="boxes"/>; its metadata stays.</summary>
    public static LabelUpdate ReplaceBoxes(string sampleId, IReadOnlyList<LabeledBox> boxes) =>
        new(sampleId, current => current with { Boxes = boxes });

    /// <summary>Takes one occurrence of each of <paramref name="boxes"/> out of the sample; a box it does not have is
    /// not removed (and not reported as removed).</summary>
    public static LabelUpdate RemoveBoxes(string sampleId, IReadOnlyList<LabeledBox> boxes) =>
        EditBoxes(sampleId, current =>
        {
            var left = current.ToList();
            foreach (var box in boxes)
            {
                left.Remove(box);
            }
            return left;
        });

    /// <summary>Undoes <paramref name="change"/> where the sample is still as it left it (<see cref="SampleChange.Revert"/>).</summary>
    /// <remarks>When the sample's metadata is no longer what the change left, someone else (a job: it writes its
    /// provenance with its boxes) wrote the sample since, and a box the change added may be theirs now: it stays.</remarks>
    public static LabelUpdate Revert(SampleChange change) =>
        new(change.SampleId, current =>
            change.Revert(current.Boxes, othersWroteSince: change.LeftMetadata is { } left && !SampleLabels.SameMetadata(current.Metadata, left))
                is var next && next.SequenceEqual(current.Boxes) ? null : current with { Boxes = next });

    /// <summary>A change of boxes alone that leaves the sample untouched (no write, no new entry) when it changes nothing.</summary>
    private static LabelUpdate EditBoxes(string sampleId, Func<IReadOnlyList<LabeledBox>, IReadOnlyList<LabeledBox>> edit) =>
        new(sampleId, current => edit(current.Boxes) is var next && next.SequenceEqual(current.Boxes) ? null : current with { Boxes = next });
}

/// <summary>
/// What one write did to one sample: the boxes it actually added and actually removed, one entry per occurrence (a box
/// identical to one the sample had is not an add; a box the sample lacked is not a removal; a reorder is neither),
/// where each removed box stood, whether the metadata changed, and the sample's boxes as the write left them. It is
/// what an undo needs, and what a journal of writes would record.
/// </summary>
/// <param name="RemovedAt">The place each of <paramref name="Removed"/> had in the sample's boxes before the write.</param>
public sealed record SampleChange(
    string SampleId, IReadOnlyList<LabeledBox> Added, IReadOnlyList<LabeledBox> Removed, IReadOnlyList<int> RemovedAt,
    bool MetadataChanged, IReadOnlyList<LabeledBox> Boxes)
{
    public bool ChangedBoxes => Added.Count > 0 || Removed.Count > 0;

    /// <summary>The sample's metadata as the write left it (null: not known).</summary>
    public IReadOnlyDictionary<string, string>? LeftMetadata { get; init; }

    /// <summary>The difference between a sample's labels before and after a write, boxes compared as a multiset
    /// (identity is label and geometry, <see cref="LabeledBox"/>): an added box as written, a removed one as it was.</summary>
    public static SampleChange Between(string sampleId, SampleLabels before, SampleLabels after)
    {
        var had = before.Boxes.CountBy(b => b).ToDictionary();
        var added = new List<LabeledBox>();
        foreach (var box in after.Boxes)
        {
            if (had.TryGetValue(box, out var n) && n > 0)
            {
                had[box] = n - 1;
            }
            else
            {
                added.Add(box);
            }
        }
        // What is left of each box's count was removed: the last occurrences of a repeated box, say.
        var removed = new List<(int Index, LabeledBox Box)>();
        for (var i = before.Boxes.Count - 1; i >= 0; i--)
        {
            var box = before.Boxes[i];
            if (had.TryGetValue(box, out var n) && n > 0)
            {
                had[box] = n - 1;
                removed.Add((i, box));
            }
        }
        removed.Reverse();
        return new SampleChange(sampleId, added, removed.Select(r => r.Box).ToArray(), removed.Select(r => r.Index).ToArray(),
            !SampleLabels.SameMetadata(before.Metadata, after.Metadata), after.Boxes)
        { LeftMetadata = after.Metadata };
    }

    /// <summary>
    /// <paramref name="current"/> with this change undone, box by box: where the sample holds a box as many times as the
    /// change left it, it gets the count it had before (an added box taken out, a removed one put back in its place);
    /// where the count differs, someone changed that box since (a job re-added it, a person removed it) and it is
    /// left as it is, so an undo never doubles a box nor takes one it did not add. The file holds no identity beyond a
    /// box's value: a box removed and re-added identically since cannot be told from the one the change left.
    /// </summary>
    /// <param name="othersWroteSince">Someone else wrote the sample since (its metadata moved on): a box the change added
    /// may be one they asked for too (a job finding the box a person accepted), so added boxes stay; removed ones are
    /// still put back where their count is as the change left it.</param>
    public IReadOnlyList<LabeledBox> Revert(IReadOnlyList<LabeledBox> current, bool othersWroteSince = false)
    {
        var result = current.ToList();
        var left = Boxes.CountBy(b => b).ToDictionary();
        var delta = Added.CountBy(b => b).ToDictionary();
        foreach (var (box, n) in Removed.CountBy(b => b))
        {
            delta[box] = delta.GetValueOrDefault(box) - n;
        }
        var restore = new List<(int Index, LabeledBox Box)>();
        foreach (var (box, d) in delta)
        {
            if (d == 0 || (d > 0 && othersWroteSince) || result.Count(b => b == box) != left.GetValueOrDefault(box))
            {
                continue;
            }
            for (var i = 0; i < d; i++)
            {
                result.RemoveAt(result.FindLastIndex(b => b == box));
            }
            restore.AddRange(Removed.Select((b, i) => (RemovedAt[i], b)).Where(r => r.b == box).Take(-d));
        }
        foreach (var (index, box) in restore.OrderBy(r => r.Index))
        {
            result.Insert(Math.Min(index, result.Count), box);
        }
        return result;
    }
}

/// <summary>The result of a write: what changed, per sample rewritten, and the samples refused (not written at all).</summary>
public sealed record LabelsWritten(IReadOnlyList<SampleChange> Changes, IReadOnlyList<FailedSample> Failed)
{
    public static readonly LabelsWritten Nothing = new([], []);
}
