using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Evaluation;

namespace Owlbox.Labeling.Tests.Evaluation;

public class ThresholdCalibrationTests
{
    private static readonly PixelBox s_true = new(0, 0, 100, 100);
    private static readonly PixelBox s_wrong = new(500, 500, 50, 50);

    /// <summary>One true cat per image; detections "T0.9" (a true hit scored 0.9) or "F0.8" (a miss) on images 0, 1, 2...</summary>
    private static (EvalBox[] Truth, EvalBox[] Detections) Ranking(params string[] ranked)
    {
        var truth = Enumerable.Range(0, ranked.Length).Select(i => new EvalBox($"img{i}", "cat", s_true)).ToArray();
        var detections = ranked.Select((r, i) => new EvalBox($"img{i}", "cat", r[0] == 'T' ? s_true : s_wrong,
            double.Parse(r[1..], System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        return (truth, detections);
    }

    public static TheoryData<string, string[], double, double?, double?, double?> Cases => new()
    {
        // Precision by cut: 1, 1, 2/3, 3/4, 3/5. Target 0.75: the cut after 0.6 (3 of 4) is the deepest that meets it.
        { "deepest cut meeting the target", ["T0.9", "T0.8", "F0.7", "T0.6", "F0.5"], 0.75, 0.6, 0.75, 0.6 },
        { "target 1 stops before the first miss", ["T0.9", "T0.8", "F0.7", "T0.6", "F0.5"], 1.0, 0.8, 1.0, 0.4 },
        { "every detection right: the lowest score", ["T0.9", "T0.4", "T0.3"], 0.9, 0.3, 1.0, 1.0 },
        { "never met", ["F0.9", "T0.8"], 0.9, null, null, null },
        { "threshold sits above the next lower score", ["T0.555", "F0.551"], 0.9, 0.555, 1.0, 0.5 },
        { "two digits when they separate", ["T0.57", "F0.31"], 0.9, 0.57, 1.0, 0.5 },
        { "a cut never splits equal scores", ["T0.7", "F0.7", "T0.2"], 0.9, null, null, null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Calibrate(string because, string[] ranked, double target, double? threshold, double? precision, double? recall)
    {
        var (truth, detections) = Ranking(ranked);

        var result = ThresholdCalibration.Calibrate(["cat"], truth, detections, target).Single();

        Assert.Equal($"{because}: {threshold} {precision} {recall}",
            $"{because}: {result.Threshold} {Round(result.Precision)} {Round(result.Recall)}");
    }

    private static double? Round(double? v) => v is null ? null : Math.Round(v.Value, 6);

    [Theory]
    [InlineData(0.61234, 0.3, 0.61)]
    [InlineData(0.61234, 0.611, 0.612)]
    [InlineData(0.61234, null, 0.61)]
    [InlineData(0.5, 0.49999, 0.5)]
    public void Between_IsTheShortestDecimalThatKeepsTheOneAndDropsTheOther(double kept, double? dropped, double expected) =>
        Assert.Equal(expected, ThresholdCalibration.Between(kept, dropped));

    [Fact]
    public void WriteBack_FillsEachCalibratedLabelsLines_AndKeepsTheRest()
    {
        const string prompt = "coffee cup (coffee, 0.1)\n\nmug (coffee)\nspoon (spoon, 0.3)\nperson";
        var thresholds = new[]
        {
            new LabelThreshold("coffee", 0.42, 0.9, 0.8, 8, 1, 10),
            new LabelThreshold("spoon", null, null, null, 0, 0, 3),
            new LabelThreshold("person", 0.07, 1, 0.5, 1, 0, 2),
        };

        Assert.Equal("coffee cup (coffee, 0.42)\n\nmug (coffee, 0.42)\nspoon (spoon, 0.3)\nperson (person, 0.07)",
            ThresholdCalibration.WriteBack(prompt, thresholds));
    }

    [Fact]
    public void AtScoreFloor_EveryLineAtZero_TextAndLinesOtherwiseAsWritten()
    {
        var prompt = Owlbox.Labeling.Prompts.LabelingPrompt.Parse("a red square (square, 0.4)\n\nblue circle (circle, 0.25)");

        var floor = ThresholdCalibration.AtScoreFloor(prompt);

        Assert.Equal(prompt.Text, floor.Text);
        Assert.Equal([(1, "a red square", "square", 0.0), (3, "blue circle", "circle", 0.0)],
            floor.Lines.Select(l => (l.LineNumber, l.SearchText, l.Label, l.MinConfidence)));
    }
}
