using Owlbox.Labeling.Filtering;
using static Owlbox.Labeling.Tests.Filtering.Boxes;

namespace Owlbox.Labeling.Tests.Filtering;

public class DetectionFilterTests
{
    private static readonly FilterOptions s_noNms = new() { Nms = false };

    [Fact]
    public void Apply_MinConfidence_IsPerLineAndInclusive()
    {
        var boxes = new[]
        {
            Hit("cup", 0.30f, 0, 0, 10, 10, min: 0.3),   // equal: kept (the original block drops only score < min)
            Hit("cup", 0.29f, 50, 0, 10, 10, min: 0.3),
            Hit("mug", 0.29f, 0, 50, 10, 10, min: 0.1),  // a synonym line with its own threshold
        };

        var result = DetectionFilter.Apply(boxes, 100, 100, s_noNms);

        Assert.Equal([0.30f, 0.29f], result.Kept.Select(b => b.Score));
        Assert.Equal("cup", result.Kept[0].Label);
        Assert.Equal(RejectionReason.BelowMinConfidence, Assert.Single(result.Rejected).Reason);
    }

    [Fact]
    public void Apply_SizeLimits_UsePercentOfImageArea()
    {
        // Image 200x100 = 20,000 px². Boxes of 1%, 5% and 50%.
        var boxes = new[] { Hit("a", 0.9f, 0, 0, 20, 10), Hit("a", 0.8f, 50, 50, 50, 20), Hit("a", 0.7f, 100, 0, 100, 100) };

        var result = DetectionFilter.Apply(boxes, 200, 100, s_noNms with { IgnoreSmallerThanPercent = 2, IgnoreLargerThanPercent = 40 });

        Assert.Equal(0.8f, Assert.Single(result.Kept).Score);
        Assert.Equal([RejectionReason.SmallerThanLimit, RejectionReason.LargerThanLimit], result.Rejected.Select(r => r.Reason));
    }

    [Fact]
    public void Apply_ZeroSizeLimits_DisableTheFilters()
    {
        var boxes = new[] { Hit("a", 0.9f, 0, 0, 1, 1), Hit("a", 0.8f, 0, 0, 200, 100) };

        Assert.Equal(2, DetectionFilter.Apply(boxes, 200, 100, s_noNms).Kept.Count);
    }

    [Fact]
    public void Apply_WithNms_SuppressesAfterTheOtherFilters()
    {
        // The 0.9 box is below its line's threshold, so it must not suppress the 0.6 one.
        var boxes = new[] { Hit("a", 0.9f, 0, 0, 10, 10, min: 0.95), Hit("a", 0.6f, 1, 1, 10, 10) };

        var result = DetectionFilter.Apply(boxes, 100, 100, new FilterOptions());

        Assert.Equal(0.6f, Assert.Single(result.Kept).Score);
    }

    [Fact]
    public void Apply_KeptBoxesAreInDescendingScoreOrder()
    {
        var boxes = new[] { Hit("a", 0.2f, 0, 0, 10, 10), Hit("b", 0.7f, 20, 0, 10, 10), Hit("c", 0.5f, 40, 0, 10, 10) };

        Assert.Equal([0.7f, 0.5f, 0.2f], DetectionFilter.Apply(boxes, 100, 100, s_noNms).Kept.Select(b => b.Score));
    }

    [Theory]
    [InlineData(-1, 0, 0.2, "smaller")]
    [InlineData(0, 101, 0.2, "larger")]
    [InlineData(50, 10, 0.2, "must be below")]
    [InlineData(0, 0, 1.5, "iou")]
    public void Validate_RejectsImpossibleOptions(double smaller, double larger, double iou, string expected)
    {
        var errors = new FilterOptions { IgnoreSmallerThanPercent = smaller, IgnoreLargerThanPercent = larger, NmsIouThreshold = iou }.Validate();

        Assert.Contains(errors, e => e.Contains(expected, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Validate_OriginalBlockDefaults_AreValid()
    {
        Assert.Empty(new LabelingOptions().Validate());
        Assert.Contains(new LabelingOptions { ScoreFloor = 1 }.Validate(), e => e.Contains("score-floor", StringComparison.Ordinal));
    }
}
