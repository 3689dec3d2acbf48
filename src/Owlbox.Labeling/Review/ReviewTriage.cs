using Owlbox.Labeling.Boxes;

namespace Owlbox.Labeling.Review;

/// <summary>How a proposed box relates to the labels an image already has.</summary>
public enum ProposalTriage
{
    /// <summary>It finds an existing box of its label (IoU at or above the threshold).</summary>
    Match,

    /// <summary>The model found something no existing box of its label covers: a new object, or a false positive.</summary>
    Extra,

    /// <summary>It overlaps an existing box of its label, but loosely (IoU above 0, below the threshold): the box is off.</summary>
    LowIoU,
}

/// <summary>How an existing box relates to the proposals.</summary>
public enum LabelTriage
{
    Found,

    /// <summary>No proposal of its label finds it: the model missed it, or the prompt does not cover it.</summary>
    Missed,
}

public sealed record TriageBox(string Label, PixelBox Box, double Score);

public sealed record TriageResult(IReadOnlyList<ProposalTriage> Proposals, IReadOnlyList<LabelTriage> Labels);

/// <summary>
/// Sorts an image's proposals against its existing labels (X-AnyLabeling's "extra / missed / IoU below threshold"):
/// proposals in falling score order each take the best still-unmatched existing box of their label, as COCO matching
/// does, so a second proposal on one object is an extra, not a second match.
/// </summary>
public static class ReviewTriage
{
    public const double DefaultIoUThreshold = 0.5;

    public static TriageResult Classify(IReadOnlyList<TriageBox> proposals, IReadOnlyList<TriageBox> labels, double iouThreshold = DefaultIoUThreshold)
    {
        var matched = new bool[labels.Count];
        var proposalTriage = new ProposalTriage[proposals.Count];
        var order = Enumerable.Range(0, proposals.Count).OrderByDescending(i => proposals[i].Score).ThenBy(i => i);
        foreach (var p in order)
        {
            var (best, bestIoU) = (-1, 0.0);
            for (var l = 0; l < labels.Count; l++)
            {
                if (!matched[l] && labels[l].Label == proposals[p].Label && proposals[p].Box.IoU(labels[l].Box) is var iou && iou > bestIoU)
                {
                    (best, bestIoU) = (l, iou);
                }
            }
            if (best >= 0 && bestIoU >= iouThreshold)
            {
                matched[best] = true;
                proposalTriage[p] = ProposalTriage.Match;
            }
            else
            {
                proposalTriage[p] = best >= 0 ? ProposalTriage.LowIoU : ProposalTriage.Extra;
            }
        }
        return new TriageResult(proposalTriage, matched.Select(m => m ? LabelTriage.Found : LabelTriage.Missed).ToArray());
    }
}
