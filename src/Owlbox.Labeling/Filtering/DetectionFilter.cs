namespace Owlbox.Labeling.Filtering;

/// <summary>The original block's filter chain, in its order: per-line minimum confidence, object size as a share of the
/// image area, then NMS (per label, or across labels when asked).</summary>
public static class DetectionFilter
{
    public static FilterResult Apply(IReadOnlyList<DetectedBox> boxes, int imageWidth, int imageHeight, FilterOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageHeight);
        var imageArea = (double)imageWidth * imageHeight;
        var rejected = new List<(DetectedBox, RejectionReason)>();
        var passed = new List<DetectedBox>();
        foreach (var box in boxes)
        {
            var areaPercent = box.Box.Area / imageArea * 100.0;
            if (box.Score < box.Line.MinConfidence)
            {
                rejected.Add((box, RejectionReason.BelowMinConfidence));
            }
            else if (options.IgnoreSmallerThanPercent > 0 && areaPercent < options.IgnoreSmallerThanPercent)
            {
                rejected.Add((box, RejectionReason.SmallerThanLimit));
            }
            else if (options.IgnoreLargerThanPercent > 0 && areaPercent > options.IgnoreLargerThanPercent)
            {
                rejected.Add((box, RejectionReason.LargerThanLimit));
            }
            else
            {
                passed.Add(box);
            }
        }
        if (!options.Nms)
        {
            return new FilterResult(NonMaxSuppression.SortByScore(passed), rejected);
        }
        var (kept, suppressed) = NonMaxSuppression.Apply(passed, options.NmsIouThreshold, options.ClassAgnosticNms);
        rejected.AddRange(suppressed.Select(s => (s, RejectionReason.SuppressedByNms)));
        return new FilterResult(kept, rejected);
    }
}
