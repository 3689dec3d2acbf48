using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Filtering;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Labeling.Tests.Filtering;

public class DetectionDriftTests
{
    private static readonly PromptLine Cup = new(1, "cup", "cup", 0.1);
    private static readonly PromptLine Dog = new(2, "dog", "dog", 0.1);

    [Fact]
    public void Compare_PairsByIoUWithinALabel_AndMeasuresTheLargestEdgeMove()
    {
        DetectedBox[] fp32 = [new(Cup, 0.80f, new PixelBox(10, 10, 100, 100)), new(Dog, 0.50f, new PixelBox(300, 300, 50, 50))];
        DetectedBox[] int8 = [new(Cup, 0.78f, new PixelBox(12, 10, 100, 97)), new(Cup, 0.40f, new PixelBox(300, 300, 50, 50))];

        var drift = DetectionDrift.Compare(fp32, int8);

        Assert.Equal((1, 1, 1), (drift.Matched, drift.OnlyInReference, drift.OnlyInCandidate)); // the dog-shaped cup is not the dog
        Assert.Equal(3, drift.MaxCornerShift); // bottom edge: 110 → 107
        Assert.Equal(0.02, drift.MaxScoreChange, 3);
        Assert.InRange(drift.MeanIoU, 0.9, 0.99);
    }

    [Fact]
    public void Compare_IdenticalSets_HaveNoDrift()
    {
        DetectedBox[] boxes = [new(Cup, 0.8f, new PixelBox(1, 2, 30, 40)), new(Cup, 0.7f, new PixelBox(100, 2, 30, 40))];

        var drift = DetectionDrift.Compare(boxes, boxes).Add(DetectionDrift.Compare(boxes, boxes));

        Assert.Equal(new DetectionDrift(4, 0, 0, 0, 1, 0), drift);
    }
}
