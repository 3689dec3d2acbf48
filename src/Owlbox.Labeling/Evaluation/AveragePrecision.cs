using Owlbox.Labeling.Boxes;

namespace Owlbox.Labeling.Evaluation;

/// <summary>A box on an image: a ground-truth box (no score) or a detection (with its score).</summary>
public sealed record EvalBox(string Image, string Label, PixelBox Box, double Score = 1);

/// <summary>One label's result at one IoU threshold: COCO's AP, and the precision and recall of all its ranked
/// detections (the first 100 per image).</summary>
public sealed record LabelPrecision(string Label, double AveragePrecision, double Precision, double Recall, int TruePositives, int FalsePositives, int GroundTruth);

/// <summary>COCOeval's bbox summary (area all, 100 detections per image): AP at IoU 0.5 and 0.75, mAP over IoU
/// 0.50:0.05:0.95, averaged over the labels that have ground truth; and per label at IoU 0.5.</summary>
public sealed record EvaluationResult(double Ap50, double Ap75, double Map, IReadOnlyDictionary<string, LabelPrecision> PerLabelAt50);

/// <summary>
/// Average precision as pycocotools' COCOeval computes it for boxes (iouType 'bbox', areaRng 'all', maxDets 100), its
/// cocoeval.py followed line by line (each step names what it follows). Per label and image, detections in falling
/// score order (stable), the first 100 kept, are matched greedily to the unmatched true box of the same image with the
/// highest IoU at or above the threshold (on equal IoU the later box); per label, the images' detections are ranked by
/// falling score, equal scores in the order given; precision is made monotone from the right and sampled at COCO's 101
/// recall points, a recall never reached counting 0. Given detections grouped by image in the order of COCO's image ids
/// (as <c>owlbox eval</c> passes them, images in file name order), the numbers are COCOeval's. Pure: no I/O.
/// </summary>
public static class AveragePrecision
{
    /// <summary>numpy's <c>np.spacing(1)</c> (2^-52), which accumulate adds to every precision's denominator.</summary>
    private const double Spacing1 = 2.220446049250313e-16;

    /// <summary>One detection after evaluateImg: its score and, per IoU threshold, whether it matched a true box and
    /// whether it is ignored (matched to an ignored true box, or unmatched and outside the area range).</summary>
    private sealed record Evaluated(double Score, int Order, bool[] Matched, bool[] Ignored);

    public static EvaluationResult Evaluate(IReadOnlyList<EvalBox> truth, IReadOnlyList<EvalBox> detections)
    {
        var thresholds = CocoParameters.IouThresholds;
        var recallPoints = CocoParameters.RecallThresholds;
        // COCO's catIds are the ground truth's categories, sorted.
        var labels = truth.Select(t => t.Label).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        // accumulate: precision[t, r, k] with -1 (here null) for a category without any true box that counts.
        var precision = new double[]?[labels.Length];
        var perLabel = new Dictionary<string, LabelPrecision>(StringComparer.Ordinal);
        for (var k = 0; k < labels.Length; k++)
        {
            var (ranked, groundTruth) = EvaluateLabel(labels[k], truth, detections, thresholds, CocoParameters.MaxDetectionsPerImage);
            if (groundTruth == 0)
            {
                // accumulate: "if npig == 0: continue" leaves the category at -1, out of every mean.
                perLabel[labels[k]] = new LabelPrecision(labels[k], 0, 0, 0, 0, 0, 0);
                continue;
            }
            precision[k] = new double[thresholds.Length * recallPoints.Length];
            for (var t = 0; t < thresholds.Length; t++)
            {
                var (q, tp, fp) = Accumulate(ranked, t, groundTruth, recallPoints);
                q.CopyTo(precision[k].AsSpan(t * recallPoints.Length));
                if (t == 0)
                {
                    // The per-label figure users take as precision[0, :, k, 0, 2].mean().
                    perLabel[labels[k]] = new LabelPrecision(labels[k], CocoParameters.NumpyMean(q), tp + fp == 0 ? 0 : (double)tp / (tp + fp),
                        (double)tp / groundTruth, tp, fp, groundTruth);
                }
            }
        }
        // summarize: s = precision[t][:, :, aind, mind]; mean(s[s > -1]), the remaining values flattened t, r, k in C order.
        double Summarize(IEnumerable<int> thresholdIndexes)
        {
            var s = new List<double>();
            foreach (var t in thresholdIndexes)
            {
                for (var r = 0; r < recallPoints.Length; r++)
                {
                    s.AddRange(precision.OfType<double[]>().Select(p => p[t * recallPoints.Length + r]));
                }
            }
            return s.Count == 0 ? 0 : CocoParameters.NumpyMean(s.ToArray());
        }
        // _summarizeDets: stats[1] and stats[2] take the threshold where iouThr == p.iouThrs (.5 and .75 are exact).
        return new EvaluationResult(Summarize([Array.IndexOf(thresholds, .5)]), Summarize([Array.IndexOf(thresholds, .75)]),
            Summarize(Enumerable.Range(0, thresholds.Length)), perLabel);
    }

    /// <summary>accumulate for one category at one threshold: the 101 sampled precisions, and the true and false
    /// positives among all ranked detections.</summary>
    private static (double[] Sampled, int TruePositives, int FalsePositives) Accumulate(IReadOnlyList<Evaluated> ranked, int t, int groundTruth, double[] recallPoints)
    {
        // tps = dtm & ~dtIg; fps = ~dtm & ~dtIg; cumulative sums; rc = tp / npig; pr = tp / (fp + tp + np.spacing(1)).
        var nd = ranked.Count;
        var rc = new double[nd];
        var pr = new double[nd];
        var (tp, fp) = (0, 0);
        for (var i = 0; i < nd; i++)
        {
            if (!ranked[i].Ignored[t])
            {
                (tp, fp) = ranked[i].Matched[t] ? (tp + 1, fp) : (tp, fp + 1);
            }
            rc[i] = (double)tp / groundTruth;
            pr[i] = tp / ((double)fp + tp + Spacing1);
        }
        // "for i in range(nd-1, 0, -1): if pr[i] > pr[i-1]: pr[i-1] = pr[i]"
        for (var i = nd - 1; i > 0; i--)
        {
            if (pr[i] > pr[i - 1])
            {
                pr[i - 1] = pr[i];
            }
        }
        // "inds = np.searchsorted(rc, p.recThrs, side='left')"; q[ri] = pr[pi] until pi runs off the end (the
        // IndexError the try/except swallows), the rest staying 0.
        var q = new double[recallPoints.Length];
        for (var r = 0; r < recallPoints.Length; r++)
        {
            var pi = SearchSortedLeft(rc, recallPoints[r]);
            if (pi >= nd)
            {
                break;
            }
            q[r] = pr[pi];
        }
        return (q, tp, fp);
    }

    /// <summary>numpy's <c>searchsorted(a, v, side='left')</c>: the first index whose value is at or above v.</summary>
    private static int SearchSortedLeft(double[] sorted, double v)
    {
        var (lo, hi) = (0, sorted.Length);
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            (lo, hi) = sorted[mid] < v ? (mid + 1, hi) : (lo, mid);
        }
        return lo;
    }

    /// <summary>One label's detections in falling score order, each marked a true positive when it takes a still
    /// unmatched ground-truth box of its image at or above the IoU threshold; and the label's ground-truth count. Every
    /// detection of an image is matched (no cap of 100); detections COCO would ignore are left out.</summary>
    public static (IReadOnlyList<(double Score, bool TruePositive)> Ranked, int GroundTruth) Match(
        string label, IReadOnlyList<EvalBox> truth, IReadOnlyList<EvalBox> detections, double iouThreshold)
    {
        var (ranked, groundTruth) = EvaluateLabel(label, truth, detections, [iouThreshold], int.MaxValue);
        return ([.. ranked.Where(d => !d.Ignored[0]).Select(d => (d.Score, d.Matched[0]))], groundTruth);
    }

    private static bool OutsideAreaRange(PixelBox box) => (double)box.Area is < CocoParameters.MinArea or > CocoParameters.MaxArea;

    /// <summary>evaluateImg for every image of one category, then accumulate's ranking of their detections; the count
    /// of true boxes that are not ignored (npig).</summary>
    private static (IReadOnlyList<Evaluated> Ranked, int GroundTruth) EvaluateLabel(string label, IReadOnlyList<EvalBox> truth,
        IReadOnlyList<EvalBox> detections, double[] thresholds, int maxDetections)
    {
        // _prepare: ground truth and detections per (image, category), in the order given.
        var gtByImage = truth.Where(t => t.Label == label).ToLookup(t => t.Image, StringComparer.Ordinal);
        var dtByImage = detections.Select((d, i) => (Box: d, Order: i)).Where(x => x.Box.Label == label).GroupBy(x => x.Box.Image, StringComparer.Ordinal);
        var evaluated = new List<Evaluated>();
        foreach (var image in dtByImage)
        {
            // evaluateImg: gt '_ignore' when outside aRng; "gtind = np.argsort([g['_ignore'] ...], kind='mergesort')"
            // puts ignored ones last; "dtind = np.argsort([-d['score'] ...], kind='mergesort')", dt[0:maxDet]. Both
            // sorts are stable, as OrderBy is.
            var gt = gtByImage[image.Key].Select(t => t.Box).OrderBy(OutsideAreaRange).ToArray();
            var gtIgnore = gt.Select(OutsideAreaRange).ToArray();
            var dt = image.OrderByDescending(x => x.Box.Score).Take(maxDetections).ToArray();
            // computeIoU: ious[d, g] (maskUtils.iou's bbIou; the same doubles for integer boxes).
            var ious = dt.Select(d => gt.Select(g => d.Box.Box.IoU(g)).ToArray()).ToArray();
            var results = dt.Select(d => new Evaluated(d.Box.Score, d.Order, new bool[thresholds.Length], new bool[thresholds.Length])).ToArray();
            for (var t = 0; t < thresholds.Length; t++)
            {
                var gtMatched = new bool[gt.Length];
                for (var d = 0; d < dt.Length; d++)
                {
                    // "iou = min([t,1-1e-10])"; m = -1 means unmatched.
                    var iou = Math.Min(thresholds[t], 1 - 1e-10);
                    var m = -1;
                    for (var g = 0; g < gt.Length; g++)
                    {
                        // "if gtm[tind,gind]>0 and not iscrowd[gind]: continue" (no crowd boxes here)
                        if (gtMatched[g])
                        {
                            continue;
                        }
                        // "if m>-1 and gtIg[m]==0 and gtIg[gind]==1: break"
                        if (m > -1 && !gtIgnore[m] && gtIgnore[g])
                        {
                            break;
                        }
                        // "if ious[dind,gind] < iou: continue": an IoU equal to the threshold matches, and an equal
                        // IoU later on takes the match over.
                        if (ious[d][g] < iou)
                        {
                            continue;
                        }
                        (iou, m) = (ious[d][g], g);
                    }
                    if (m == -1)
                    {
                        // "dtIg = np.logical_or(dtIg, np.logical_and(dtm==0, np.repeat(a,T,0)))": unmatched outside aRng.
                        results[d].Ignored[t] = OutsideAreaRange(dt[d].Box.Box);
                        continue;
                    }
                    results[d].Ignored[t] = gtIgnore[m];
                    results[d].Matched[t] = true;
                    gtMatched[m] = true;
                }
            }
            evaluated.AddRange(results);
        }
        // accumulate: "inds = np.argsort(-dtScores, kind='mergesort')" over the images' detections concatenated in
        // image id order; here equal scores keep the order given. npig counts the true boxes not ignored.
        var ranked = evaluated.OrderByDescending(e => e.Score).ThenBy(e => e.Order).ToArray();
        return (ranked, gtByImage.Sum(g => g.Count(t => !OutsideAreaRange(t.Box))));
    }
}
