using Owlbox.Labeling.Boxes;

namespace Owlbox.Labeling.Evaluation;

/// <summary>A box on an image: a ground-truth box (no score) or a detection (with its score).</summary>
public sealed record EvalBox(string Image, string Label, PixelBox Box, double Score = 1);

/// <summary>One label's result at one IoU threshold.</summary>
public sealed record LabelPrecision(string Label, double AveragePrecision, double Precision, double Recall, int TruePositives, int FalsePositives, int GroundTruth);

/// <summary>COCO-style evaluation: AP at IoU 0.5 and 0.75, mAP over IoU 0.50:0.05:0.95, per label and averaged over
/// the labels that have ground truth.</summary>
public sealed record EvaluationResult(double Ap50, double Ap75, double Map, IReadOnlyDictionary<string, LabelPrecision> PerLabelAt50)
{
    public static readonly double[] IouThresholds = Enumerable.Range(0, 10).Select(i => 0.5 + 0.05 * i).ToArray();
}

/// <summary>
/// Average precision as COCO computes it: per label, detections in descending score order are matched greedily to the
/// unmatched ground-truth box of the same image with the highest IoU at or above the threshold (a match is a true
/// positive, anything else a false positive); precision is made monotone from the right and sampled at 101 recall
/// points (0, 0.01, … 1), a recall never reached counting 0. Pure: no I/O.
/// </summary>
public static class AveragePrecision
{
    public static EvaluationResult Evaluate(IReadOnlyList<EvalBox> truth, IReadOnlyList<EvalBox> detections)
    {
        var labels = truth.Select(t => t.Label).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (labels.Length == 0)
        {
            return new EvaluationResult(0, 0, 0, new Dictionary<string, LabelPrecision>());
        }
        var at = EvaluationResult.IouThresholds.ToDictionary(t => t, t => labels.Select(l => ForLabel(l, truth, detections, t)).ToArray());
        double Mean(double threshold) => at[threshold].Average(r => r.AveragePrecision);
        return new EvaluationResult(Mean(0.5), Mean(EvaluationResult.IouThresholds[5]), EvaluationResult.IouThresholds.Average(Mean),
            at[0.5].ToDictionary(r => r.Label, StringComparer.Ordinal));
    }

    public static LabelPrecision ForLabel(string label, IReadOnlyList<EvalBox> truth, IReadOnlyList<EvalBox> detections, double iouThreshold)
    {
        var (ranked, total) = Match(label, truth, detections, iouThreshold);
        var (tp, fp) = (0, 0);
        var precision = new List<double>();
        var recall = new List<double>();
        foreach (var (_, truePositive) in ranked)
        {
            if (truePositive)
            {
                tp++;
            }
            else
            {
                fp++;
            }
            precision.Add((double)tp / (tp + fp));
            recall.Add(total == 0 ? 0 : (double)tp / total);
        }
        for (var i = precision.Count - 2; i >= 0; i--)
        {
            precision[i] = Math.Max(precision[i], precision[i + 1]);
        }
        var sum = 0.0;
        for (var r = 0; r <= 100; r++)
        {
            var first = recall.FindIndex(x => x >= r / 100.0 - 1e-12);
            sum += first < 0 ? 0 : precision[first];
        }
        return new LabelPrecision(label, total == 0 ? 0 : sum / 101, tp + fp == 0 ? 0 : (double)tp / (tp + fp), total == 0 ? 0 : (double)tp / total, tp, fp, total);
    }

    /// <summary>One label's detections in falling score order, each marked a true positive when it takes a still
    /// unmatched ground-truth box of its image at or above the IoU threshold; and the label's ground-truth count.</summary>
    public static (IReadOnlyList<(double Score, bool TruePositive)> Ranked, int GroundTruth) Match(
        string label, IReadOnlyList<EvalBox> truth, IReadOnlyList<EvalBox> detections, double iouThreshold)
    {
        var gt = truth.Where(t => t.Label == label).GroupBy(t => t.Image, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(t => t.Box).ToArray(), StringComparer.Ordinal);
        var matched = gt.ToDictionary(g => g.Key, g => new bool[g.Value.Length], StringComparer.Ordinal);
        // Stable order on ties: COCO sorts with a stable mergesort over detections in input order.
        var ordered = detections.Where(d => d.Label == label).Select((d, i) => (d, i)).OrderByDescending(x => x.d.Score).ThenBy(x => x.i).Select(x => x.d);
        var ranked = new List<(double, bool)>();
        foreach (var d in ordered)
        {
            var best = -1;
            var bestIou = iouThreshold;
            if (gt.TryGetValue(d.Image, out var boxes))
            {
                for (var g = 0; g < boxes.Length; g++)
                {
                    var iou = boxes[g].IoU(d.Box);
                    if (!matched[d.Image][g] && iou >= bestIou)
                    {
                        (best, bestIou) = (g, iou);
                    }
                }
            }
            if (best >= 0)
            {
                matched[d.Image][best] = true;
            }
            ranked.Add((d.Score, best >= 0));
        }
        return (ranked, gt.Values.Sum(b => b.Length));
    }
}
