using Owlbox.Labeling.Filtering;
using static Owlbox.Labeling.Tests.Filtering.Boxes;

namespace Owlbox.Labeling.Tests.Filtering;

public class NonMaxSuppressionTests
{
    [Fact]
    public void Apply_PerLabel_KeepsTheBestOfOverlappingBoxesAndAllOtherLabels()
    {
        var boxes = new[]
        {
            Hit("cat", 0.5f, 0, 0, 100, 100),
            Hit("cat", 0.9f, 10, 10, 100, 100),   // IoU with the first ≈ 0.68
            Hit("dog", 0.4f, 5, 5, 100, 100),     // other label: never suppressed per label
            Hit("cat", 0.3f, 300, 300, 50, 50),   // far away
        };

        var (kept, suppressed) = NonMaxSuppression.Apply(boxes, 0.2, classAgnostic: false);

        Assert.Equal([0.9f, 0.4f, 0.3f], kept.Select(k => k.Score));
        Assert.Equal([0.5f], suppressed.Select(k => k.Score));
    }

    [Fact]
    public void Apply_ClassAgnostic_SuppressesAcrossLabels()
    {
        var boxes = new[] { Hit("cat", 0.9f, 10, 10, 100, 100), Hit("dog", 0.4f, 5, 5, 100, 100) };

        var (kept, suppressed) = NonMaxSuppression.Apply(boxes, 0.2, classAgnostic: true);

        Assert.Equal("cat", Assert.Single(kept).Label);
        Assert.Equal("dog", Assert.Single(suppressed).Label);
    }

    [Fact]
    public void Apply_IoUExactlyAtThreshold_IsKept()
    {
        // IoU of these two is exactly 50/150 = 1/3; suppression needs strictly greater, as in the original block.
        var boxes = new[] { Hit("a", 0.9f, 0, 0, 10, 10), Hit("a", 0.8f, 5, 0, 10, 10) };

        Assert.Equal(2, NonMaxSuppression.Apply(boxes, 1.0 / 3.0, false).Kept.Count);
        Assert.Single(NonMaxSuppression.Apply(boxes, 0.33, false).Kept);
    }

    [Fact]
    public void Apply_EqualScores_KeepInputOrder()
    {
        var boxes = new[] { Hit("a", 0.5f, 0, 0, 10, 10, min: 0.1), Hit("a", 0.5f, 1, 1, 10, 10, min: 0.2) };

        var kept = Assert.Single(NonMaxSuppression.Apply(boxes, 0.2, false).Kept);
        Assert.Equal(0.1, kept.Line.MinConfidence);
    }
}
