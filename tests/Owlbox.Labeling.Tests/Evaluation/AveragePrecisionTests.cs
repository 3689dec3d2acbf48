using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Evaluation;

namespace Owlbox.Labeling.Tests.Evaluation;

/// <summary>Constructed cases whose average precision is known by hand.</summary>
public class AveragePrecisionTests
{
    private static readonly PixelBox s_object = new(10, 10, 100, 100);
    private static readonly PixelBox s_elsewhere = new(300, 300, 50, 50);

    private static EvalBox Truth(string image) => new(image, "cat", s_object);

    private static EvalBox Found(string image, double score, PixelBox? box = null) => new(image, "cat", box ?? s_object, score);

    private static readonly string[] s_images = ["a", "b", "c", "d"];

    [Fact]
    public void EveryObjectFound_AboveAnExtraBox_IsAp1()
    {
        var truth = s_images.Select(Truth).ToArray();
        var detections = s_images.SelectMany(i => new[] { Found(i, 0.9), Found(i, 0.2, s_elsewhere) }).ToArray();

        var e = AveragePrecision.Evaluate(truth, detections);

        Assert.Equal(1.0, e.Ap50, 9);
        Assert.Equal(1.0, e.Map, 9);
        Assert.Equal(0.5, e.PerLabelAt50["cat"].Precision, 9); // the extras still count against precision at the end
    }

    [Fact]
    public void AnExtraBox_AboveTheObject_OnEveryImage_IsAp05()
    {
        var truth = s_images.Select(Truth).ToArray();
        var detections = s_images.SelectMany(i => new[] { Found(i, 0.2), Found(i, 0.9, s_elsewhere) }).ToArray();

        Assert.Equal(0.5, AveragePrecision.Evaluate(truth, detections).Ap50, 9);
    }

    [Fact]
    public void HalfTheObjectsMissed_IsAboutHalf_By101PointInterpolation()
    {
        var truth = s_images.Select(Truth).ToArray();
        var detections = new[] { Found("a", 0.9), Found("b", 0.8) };

        // Precision 1 up to recall 0.5: 51 of the 101 recall points (0, 0.01, ... 0.50).
        Assert.Equal(51 / 101.0, AveragePrecision.Evaluate(truth, detections).Ap50, 9);
    }

    [Fact]
    public void ALooseBox_CountsAt05_ButNotAt075()
    {
        var loose = new PixelBox(10, 10, 100, 160); // IoU 100/160 = 0.625 with the object
        var e = AveragePrecision.Evaluate([Truth("a")], [Found("a", 0.9, loose)]);

        Assert.Equal(1.0, e.Ap50, 9);
        Assert.Equal(0.0, e.Ap75, 9);
        Assert.Equal(0.3, e.Map, 9); // counted at 0.50, 0.55, 0.60 of the ten thresholds
    }

    [Fact]
    public void ADuplicateOfAFoundObject_IsAFalsePositive()
    {
        var e = AveragePrecision.Evaluate([Truth("a")], [Found("a", 0.9), Found("a", 0.8)]);

        Assert.Equal((1, 1), (e.PerLabelAt50["cat"].TruePositives, e.PerLabelAt50["cat"].FalsePositives));
        Assert.Equal(1.0, e.Ap50, 9); // the duplicate ranks below the match
    }

    [Fact]
    public void LabelsAreAveraged_AndABoxOfTheWrongLabelMatchesNothing()
    {
        var truth = new[] { Truth("a"), new EvalBox("a", "dog", s_elsewhere) };
        var detections = new[] { Found("a", 0.9), new EvalBox("a", "cat", s_elsewhere, 0.8) };

        var e = AveragePrecision.Evaluate(truth, detections);

        Assert.Equal(1.0, e.PerLabelAt50["cat"].AveragePrecision, 9);
        Assert.Equal(0.0, e.PerLabelAt50["dog"].AveragePrecision, 9);
        Assert.Equal(0.5, e.Ap50, 9);
    }
}
