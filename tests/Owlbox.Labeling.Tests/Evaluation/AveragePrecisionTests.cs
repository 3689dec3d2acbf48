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

/// <summary>Where Owlbox used to differ from pycocotools' COCOeval (issue 22, finding 16): each expected value is
/// derived by hand from cocoeval.py (Params.setDetParams, evaluateImg, accumulate, summarize).</summary>
public class CocoEvalAgreementTests
{
    [Fact]
    public void IouThresholds_AreNumpysLinspace_NotHalfPlusMultiplesOfAStep()
    {
        // np.linspace(.5, 0.95, 10): start + i * step, the last set to stop; 0.5 + 0.05 * 7 would be 0.8500000000000001.
        double[] coco = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95];

        Assert.Equal(coco, CocoParameters.IouThresholds);
    }

    [Fact]
    public void RecallThresholds_AreNumpysLinspace_AHairAboveTenOfTheHundredths()
    {
        // np.linspace(.0, 1.00, 101): i * 0.01 with these ten a hair above i / 100 (repr of the numpy values).
        var above = new Dictionary<int, double>
        {
            [35] = 0.35000000000000003,
            [41] = 0.41000000000000003,
            [47] = 0.47000000000000003,
            [57] = 0.5700000000000001,
            [69] = 0.6900000000000001,
            [70] = 0.7000000000000001,
            [82] = 0.8200000000000001,
            [83] = 0.8300000000000001,
            [94] = 0.9400000000000001,
            [95] = 0.9500000000000001,
        };
        var expected = Enumerable.Range(0, 101).Select(i => above.TryGetValue(i, out var v) ? v : i / 100.0).ToArray();

        Assert.Equal(expected, CocoParameters.RecallThresholds);
    }

    private static readonly PixelBox s_object = new(0, 0, 100, 1);
    private static readonly PixelBox s_elsewhere = new(500, 500, 10, 10);

    private static EvalBox Truth(string image) => new(image, "cat", s_object);

    public static TheoryData<string, EvalBox[], EvalBox[], double, double> Discrepancies => new()
    {
        // IoU 85/100 = 0.85 exactly: COCO's threshold 0.85 is np.linspace's 0.85, and ious < iou fails, so it counts at
        // 0.50 ... 0.85, 8 of the 10 thresholds (each AP 1/(1 + 2^-52): one true positive, pr = tp / (tp + fp + eps)).
        { "an IoU of exactly 0.85 counts at 0.85", [Truth("a")], [new("a", "cat", new PixelBox(0, 0, 85, 1), 0.9)], 1.0, 0.8 },
        // 100 misses scored above the hit on image a: evaluateImg keeps dt[0:100], so the hit is never seen.
        {
            "more than 100 detections on an image: the lowest are dropped", [Truth("a")],
            [.. Enumerable.Repeat(new EvalBox("a", "cat", s_elsewhere, 0.9), 100), new("a", "cat", s_object, 0.5)], 0.0, 0.0
        },
        // Equal scores keep their order (mergesort), so the hit listed after 100 misses of the same score is dropped too.
        {
            "a tie at the cut keeps the order given", [Truth("a")],
            [.. Enumerable.Repeat(new EvalBox("a", "cat", s_elsewhere, 0.9), 100), new("a", "cat", s_object, 0.9)], 0.0, 0.0
        },
        // The cap is per image: b's hit ranks after a's 100 misses, tp 1 of 2 at rank 101: recall 0.5, precision 1/101,
        // sampled at recall points 0 ... 0.50 (51 of 101; recThrs[50] is 0.5 exactly).
        {
            "the cap is per image", [Truth("a"), Truth("b")],
            [.. Enumerable.Repeat(new EvalBox("a", "cat", s_elsewhere, 0.9), 100), new("a", "cat", s_object, 0.5), new("b", "cat", s_object, 0.1)],
            51.0 / 101 / 101, 51.0 / 101 / 101
        },
        // 7 of 20 found, no misses: recall 7/20 = 0.35 < recThrs[35] = 0.35000000000000003, so precision 1 is sampled
        // at 0 ... 0.34 only: 35 of 101 points, not 36.
        {
            "recall 0.35 falls short of COCO's 0.35 point", [.. Enumerable.Range(0, 20).Select(i => Truth($"i{i}"))],
            [.. Enumerable.Range(0, 7).Select(i => new EvalBox($"i{i}", "cat", s_object, 0.9))], 35.0 / 101, 35.0 / 101
        },
    };

    [Theory]
    [MemberData(nameof(Discrepancies))]
    public void AgreesWithCocoEval(string because, EvalBox[] truth, EvalBox[] detections, double ap50, double map)
    {
        var e = AveragePrecision.Evaluate(truth, detections);

        Assert.True(Math.Abs(e.Ap50 - ap50) <= 1e-15 && Math.Abs(e.Map - map) <= 1e-15, $"{because}: AP50 {e.Ap50:R} (COCO {ap50:R}), mAP {e.Map:R} (COCO {map:R})");
    }

    [Fact]
    public void Mean_SumsPairwiseAsNumpyDoes()
    {
        // 2^53 and fifteen ones: added in order every 1 is lost (2^53 + 1 rounds to even), numpy's eight running sums
        // keep 2^53 + 1 -> 2^53 in the first and 2 in each other, then ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)).
        double[] values = [Math.Pow(2, 53), .. Enumerable.Repeat(1.0, 15)];

        Assert.Equal(Math.Pow(2, 53) + 14, CocoParameters.NumpySum(values));
        Assert.Equal((Math.Pow(2, 53) + 14) / 16, CocoParameters.NumpyMean(values));
    }
}
