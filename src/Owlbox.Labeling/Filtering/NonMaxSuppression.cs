using Owlbox.Labeling.Boxes;

namespace Owlbox.Labeling.Filtering;

/// <summary>Greedy NMS: visit boxes by descending score, keep one unless it overlaps a kept box of the same
/// group by more than the IoU threshold (strictly greater, as the original Edge Impulse block).</summary>
public static class NonMaxSuppression
{
    /// <param name="classAgnostic">When true all boxes form one group; otherwise one group per label.</param>
    /// <returns>Kept boxes in descending score order, and the suppressed ones.</returns>
    public static (List<DetectedBox> Kept, List<DetectedBox> Suppressed) Apply(
        IReadOnlyList<DetectedBox> boxes, double iouThreshold, bool classAgnostic)
    {
        var ordered = SortByScore(boxes);
        var kept = new List<DetectedBox>();
        var suppressed = new List<DetectedBox>();
        // Kept boxes per group, so a candidate is only compared with boxes it could be suppressed by.
        var keptByGroup = new Dictionary<string, List<PixelBox>>(StringComparer.Ordinal);
        foreach (var candidate in ordered)
        {
            var group = classAgnostic ? "" : candidate.Label;
            if (!keptByGroup.TryGetValue(group, out var groupKept))
            {
                groupKept = [];
                keptByGroup[group] = groupKept;
            }
            var overlaps = false;
            foreach (var k in groupKept)
            {
                if (k.IoU(candidate.Box) > iouThreshold)
                {
                    overlaps = true;
                    break;
                }
            }
            if (overlaps)
            {
                suppressed.Add(candidate);
            }
            else
            {
                kept.Add(candidate);
                groupKept.Add(candidate.Box);
            }
        }
        return (kept, suppressed);
    }

    /// <summary>Descending score; ties keep input order, so results are deterministic.</summary>
    public static List<DetectedBox> SortByScore(IEnumerable<DetectedBox> boxes) =>
        boxes.Select((b, i) => (b, i)).OrderByDescending(t => t.b.Score).ThenBy(t => t.i).Select(t => t.b).ToList();
}
