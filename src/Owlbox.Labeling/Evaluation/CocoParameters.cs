namespace Owlbox.Labeling.Evaluation;

/// <summary>
/// pycocotools' COCOeval bbox defaults (cocoeval.py, <c>Params.setDetParams</c>), built the way numpy builds them, so
/// that <see cref="AveragePrecision"/> gives COCOeval's numbers to the last bit where the sums allow: users compare
/// Owlbox's AP with it, and a threshold off by one ulp moves an IoU of exactly 0.85 across it.
/// </summary>
public static class CocoParameters
{
    /// <summary><c>self.iouThrs = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)</c>:
    /// ten thresholds; the ninth is 0.8999999999999999 and the eighth 0.85 exactly (not 0.5 + 0.05 * 7).</summary>
    public static readonly double[] IouThresholds = Linspace(.5, 0.95, (int)Math.Round((0.95 - .5) / .05) + 1);

    /// <summary><c>self.recThrs = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)</c>:
    /// 101 recall points, ten of them a hair above their hundredth (0.35000000000000003, ...).</summary>
    public static readonly double[] RecallThresholds = Linspace(.0, 1.00, (int)Math.Round((1.00 - .0) / .01) + 1);

    /// <summary><c>self.maxDets = [1, 10, 100]</c>: the AP figures use the last, 100 detections per image.</summary>
    public const int MaxDetectionsPerImage = 100;

    /// <summary><c>self.areaRng[0] = [0 ** 2, 1e5 ** 2]</c>, the 'all' range: a box outside it (area = width × height)
    /// is ignored.</summary>
    public const double MinArea = 0, MaxArea = 1e5 * 1e5;

    /// <summary>numpy's <c>linspace(start, stop, num, endpoint=True)</c> in doubles: <c>step = (stop - start) / (num - 1)</c>,
    /// element i is <c>i * step + start</c>, and the last is set to <c>stop</c> exactly.</summary>
    public static double[] Linspace(double start, double stop, int num)
    {
        var step = (stop - start) / (num - 1);
        var y = new double[num];
        for (var i = 0; i < num; i++)
        {
            y[i] = i * step + start;
        }
        y[^1] = stop;
        return y;
    }

    /// <summary><c>np.mean</c> of a one-dimensional float64 array: <see cref="NumpySum"/> divided by the count.</summary>
    public static double NumpyMean(ReadOnlySpan<double> values) => NumpySum(values) / values.Length;

    /// <summary>numpy's <c>add.reduce</c> of a one-dimensional float64 array (<c>pairwise_sum_DOUBLE</c>): fewer than 8
    /// values in order; up to 128 in eight running sums combined as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    /// and the rest added in order; more split in two at a multiple of 8 below the half. COCOeval's summaries are such
    /// means, and the order of the additions shows in the last bits.</summary>
    public static double NumpySum(ReadOnlySpan<double> a)
    {
        var n = a.Length;
        if (n < 8)
        {
            var sum = 0.0;
            foreach (var v in a)
            {
                sum += v;
            }
            return sum;
        }
        if (n <= 128)
        {
            Span<double> r = stackalloc double[8];
            a[..8].CopyTo(r);
            var i = 8;
            for (; i < n - (n % 8); i += 8)
            {
                for (var j = 0; j < 8; j++)
                {
                    r[j] += a[i + j];
                }
            }
            var res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            for (; i < n; i++)
            {
                res += a[i];
            }
            return res;
        }
        var half = n / 2;
        half -= half % 8;
        return NumpySum(a[..half]) + NumpySum(a[half..]);
    }
}
