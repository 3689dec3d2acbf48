using Owlbox.Labeling.Boxes;

namespace Owlbox.Labeling.Policies;

/// <summary>Builds a sample's final box list the way the seed does: existing boxes that survive the policy, in
/// their order, then the new boxes. Always applied to the boxes as they were before the job, so running it again
/// for the same sample (a retry or a checkpoint rewrite) gives the same list instead of stacking boxes.</summary>
public static class LabelMerge
{
    public static IReadOnlyList<LabeledBox> Merge(
        IReadOnlyList<LabeledBox> existingBeforeJob,
        IReadOnlyList<LabeledBox> newBoxes,
        IReadOnlyCollection<string> promptLabels,
        DeleteExistingPolicy policy)
    {
        var result = new List<LabeledBox>(existingBeforeJob.Count + newBoxes.Count);
        switch (policy)
        {
            case DeleteExistingPolicy.No:
                result.AddRange(existingBeforeJob);
                break;
            case DeleteExistingPolicy.MatchingPrompt:
                result.AddRange(existingBeforeJob.Where(b => !promptLabels.Contains(b.Label)));
                break;
            case DeleteExistingPolicy.Yes:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(policy), policy, null);
        }
        result.AddRange(newBoxes);
        return result;
    }
}
