namespace Owlbox.Labeling.Filtering;

/// <summary>Post-detection filters, named after the original Edge Impulse block's parameters.</summary>
public sealed record FilterOptions
{
    /// <summary>Drop boxes smaller than this percentage of the image area; 0 disables (original Edge Impulse block: <c>--ignore-objects-smaller-than</c>).</summary>
    public double IgnoreSmallerThanPercent { get; init; }

    /// <summary>Drop boxes larger than this percentage of the image area; 0 disables (original Edge Impulse block: <c>--ignore-objects-larger-than</c>).</summary>
    public double IgnoreLargerThanPercent { get; init; }

    /// <summary>Greedy non-maximum suppression (original Edge Impulse block: <c>--nms</c>).</summary>
    public bool Nms { get; init; } = true;

    /// <summary>A box is suppressed when its IoU with a kept, higher-scoring box exceeds this (the original block's default 0.2).</summary>
    public double NmsIouThreshold { get; init; } = 0.2;

    /// <summary>Suppress across labels too, so one object never carries two labels. Off in the original block.</summary>
    public bool ClassAgnosticNms { get; init; }

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!double.IsFinite(IgnoreSmallerThanPercent) || IgnoreSmallerThanPercent is < 0 or > 100)
        {
            errors.Add($"--ignore-objects-smaller-than must be a percentage between 0 and 100, got {IgnoreSmallerThanPercent}");
        }
        if (!double.IsFinite(IgnoreLargerThanPercent) || IgnoreLargerThanPercent is < 0 or > 100)
        {
            errors.Add($"--ignore-objects-larger-than must be a percentage between 0 and 100, got {IgnoreLargerThanPercent}");
        }
        if (IgnoreSmallerThanPercent > 0 && IgnoreLargerThanPercent > 0 && IgnoreSmallerThanPercent >= IgnoreLargerThanPercent)
        {
            errors.Add($"--ignore-objects-smaller-than ({IgnoreSmallerThanPercent}) must be below --ignore-objects-larger-than ({IgnoreLargerThanPercent}), or every box is dropped");
        }
        if (!double.IsFinite(NmsIouThreshold) || NmsIouThreshold is < 0 or > 1)
        {
            errors.Add($"--nms-iou-threshold must be between 0 and 1, got {NmsIouThreshold}");
        }
        return errors;
    }
}
