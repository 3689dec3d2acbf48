using Owlbox.Labeling.Boxes;

namespace Owlbox.Labeling.Policies;

/// <summary>
/// Builds a sample's final box list from the boxes it holds <em>at write time</em>: existing boxes that survive the
/// policy, in their order, then the new boxes. A new box identical (label and integer geometry) to one the sample
/// already has, or to one added just before it, is not added again, under every policy; so writing the same result
/// twice (a redelivery, a crash before the write was recorded, a re-run) leaves the sample as the first write did,
/// and two jobs writing one sample compose instead of erasing each other. A box in <c>kept</c> (the job's example
/// boxes: the user's own, the queries it searched with) survives every policy.
/// </summary>
public static class LabelMerge
{
    public static IReadOnlyList<LabeledBox> Merge(
        IReadOnlyList<LabeledBox> current,
        IReadOnlyList<LabeledBox> newBoxes,
        IReadOnlyCollection<string> promptLabels,
        DeleteExistingPolicy policy,
        IReadOnlyCollection<LabeledBox>? kept = null)
    {
        var result = new List<LabeledBox>(current.Count + newBoxes.Count);
        var toAdd = new HashSet<LabeledBox>(newBoxes);
        foreach (var box in current)
        {
            var keep = kept?.Contains(box) == true || policy switch
            {
                DeleteExistingPolicy.No => true,
                DeleteExistingPolicy.MatchingPrompt => !promptLabels.Contains(box.Label),
                DeleteExistingPolicy.Yes => false,
                _ => throw new ArgumentOutOfRangeException(nameof(policy), policy, null),
            };
            // An identical new box is already there; a box deleted only to be added back unchanged stays in place
            // (once), so a second write of the same result is a no-op whatever the policy.
            if (toAdd.Remove(box) || keep)
            {
                result.Add(box);
            }
        }
        foreach (var box in newBoxes)
        {
            if (toAdd.Remove(box))
            {
                result.Add(box);
            }
        }
        return result;
    }
}
