using System.Globalization;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Labeling.Evaluation;

/// <summary>A label's calibrated threshold: the lowest that meets the target precision on the labeled images (null when
/// none does), with the precision and recall it gives there.</summary>
public sealed record LabelThreshold(string Label, double? Threshold, double? Precision, double? Recall, int TruePositives, int FalsePositives, int GroundTruth);

/// <summary>
/// Per-label thresholds from a few labeled images (yolov5#8073's per-class thresholds, chosen from data): the detector
/// runs with every line's threshold at the score floor; per label, detections in falling score order are matched to
/// the true boxes as COCO does at IoU 0.5; the threshold is the lowest that keeps precision at or above the target,
/// that is the deepest cut of the ranking whose precision meets it (most recall at that precision). Boxes below a
/// threshold never change which boxes above it survive NMS or the size filters, so one run prices every threshold.
/// Pure: no I/O.
/// </summary>
public static class ThresholdCalibration
{
    public static IReadOnlyList<LabelThreshold> Calibrate(IReadOnlyList<string> labels, IReadOnlyList<EvalBox> truth,
        IReadOnlyList<EvalBox> detections, double targetPrecision, double iouThreshold = 0.5)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetPrecision);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(targetPrecision, 1);
        return labels.Select(label =>
        {
            var (ranked, total) = AveragePrecision.Match(label, truth, detections, iouThreshold);
            var (tp, fp, best) = (0, 0, (Cut: -1, Tp: 0, Fp: 0));
            for (var i = 0; i < ranked.Count; i++)
            {
                (tp, fp) = ranked[i].TruePositive ? (tp + 1, fp) : (tp, fp + 1);
                var endOfTies = i == ranked.Count - 1 || ranked[i + 1].Score < ranked[i].Score; // a threshold cannot split equal scores
                if (endOfTies && tp > 0 && (double)tp / (tp + fp) >= targetPrecision - 1e-12)
                {
                    best = (i, tp, fp);
                }
            }
            if (best.Cut < 0)
            {
                return new LabelThreshold(label, null, null, null, 0, 0, total);
            }
            var next = best.Cut + 1 < ranked.Count ? ranked[best.Cut + 1].Score : (double?)null;
            return new LabelThreshold(label, Between(ranked[best.Cut].Score, next), (double)best.Tp / (best.Tp + best.Fp),
                total == 0 ? 0 : (double)best.Tp / total, best.Tp, best.Fp, total);
        }).ToArray();
    }

    /// <summary>The shortest decimal at or below <paramref name="lowestKept"/> and above <paramref name="highestDropped"/>
    /// (a line keeps scores at or above its threshold).</summary>
    public static double Between(double lowestKept, double? highestDropped)
    {
        for (var digits = 2; digits <= 6; digits++)
        {
            // In decimal: 0.57 * 100 is 56.99999… in binary floating point, and its floor would drop the 0.57 box.
            var scale = (decimal)Math.Pow(10, digits);
            var t = (double)(Math.Floor((decimal)lowestKept * scale) / scale);
            if (t > lowestKept)
            {
                t = (double)((Math.Floor((decimal)lowestKept * scale) - 1) / scale); // the decimal conversion rounded up
            }
            if (highestDropped is not { } d || t > d)
            {
                return t;
            }
        }
        return lowestKept;
    }

    /// <summary>The prompt to calibrate with: every line's threshold at the score floor, so one run ranks every box a
    /// threshold could keep.</summary>
    public static LabelingPrompt AtScoreFloor(LabelingPrompt prompt) => new(prompt.Text, [.. prompt.Lines.Select(l => l with { MinConfidence = 0 })]);

    /// <summary>The prompt with each calibrated label's lines carrying its threshold; every other line, blank line and
    /// line order as written.</summary>
    public static string WriteBack(string promptText, IReadOnlyList<LabelThreshold> thresholds)
    {
        var byLabel = thresholds.Where(t => t.Threshold is not null).ToDictionary(t => t.Label, t => t.Threshold!.Value, StringComparer.Ordinal);
        var (lines, _) = PromptGrammar.Parse(promptText);
        var byNumber = lines.ToDictionary(l => l.LineNumber);
        var raw = promptText.Split(["\r\n", "\n", "\r"], StringSplitOptions.None);
        return string.Join("\n", raw.Select((text, i) =>
            byNumber.TryGetValue(i + 1, out var line) && byLabel.TryGetValue(line.Label, out var t)
                ? $"{line.SearchText} ({line.Label}, {t.ToString("0.######", CultureInfo.InvariantCulture)})"
                : text));
    }
}
