namespace Owlbox.Labeling.Filtering;

/// <summary>Greedy NMS: visit boxes by descending score, keep one unless it overlaps a kept box of the same
/// group by more than the IoU threshold (strictly greater, as the seed).</summary>
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
        foreach (var candidate in ordered)
        {
            var overlaps = false;
            foreach (var k in kept)
            {
                if ((classAgnostic || string.Equals(k.Label, candidate.Label, StringComparison.Ordinal))
                    && k.Box.IoU(candidate.Box) > iouThreshold)
                {
                    overlaps = true;
                    break;
                }
            }
            (overlaps ? suppressed : kept).Add(candidate);
        }
        return (kept, suppressed);
    }

    /// <summary>Descending score; ties keep input order, so results are deterministic.</summary>
    public static List<DetectedBox> SortByScore(IEnumerable<DetectedBox> boxes) =>
        boxes.Select((b, i) => (b, i)).OrderByDescending(t => t.b.Score).ThenBy(t => t.i).Select(t => t.b).ToList();
}
