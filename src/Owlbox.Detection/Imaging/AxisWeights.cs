namespace Owlbox.Detection.Imaging;

/// <summary>Per-output-pixel taps for one axis, computed like PIL's <c>precompute_coeffs</c>.</summary>
internal sealed class AxisWeights
{
    public required int[] Start { get; init; }
    public required int[] Count { get; init; }
    public required float[] Weights { get; init; }
    public required int MaxTaps { get; init; }

    /// <summary>Per output pixel, the weight of the taps that fall in the padding (0 where none do).</summary>
    public required float[] PadWeight { get; init; }

    /// <param name="virtualSize">Input length including padding (OWLv2's square side).</param>
    /// <param name="realSize">Input pixels that exist; taps beyond read the padding: they are dropped after
    /// normalisation and their weight kept in <see cref="PadWeight"/>, so any padding colour weighs in.</param>
    public static AxisWeights Compute(int virtualSize, int realSize, int outSize, ResampleFilter filter)
    {
        var (support, kernel) = filter switch
        {
            ResampleFilter.Bicubic => (2.0, (Func<double, double>)Cubic),
            _ => (1.0, Triangle),
        };
        var scale = (double)virtualSize / outSize;
        var filterScale = Math.Max(scale, 1.0);
        support *= filterScale;
        var maxTaps = (int)Math.Ceiling(support) * 2 + 1;
        var start = new int[outSize];
        var count = new int[outSize];
        var weights = new float[outSize * maxTaps];
        var padWeight = new float[outSize];
        var tmp = new double[maxTaps];
        for (var i = 0; i < outSize; i++)
        {
            var center = (i + 0.5) * scale;
            var xmin = Math.Max((int)(center - support + 0.5), 0);
            var xmax = Math.Min((int)(center + support + 0.5), virtualSize) - xmin;
            xmax = Math.Min(xmax, maxTaps);
            var total = 0.0;
            for (var k = 0; k < xmax; k++)
            {
                var w = kernel((k + xmin - center + 0.5) / filterScale);
                tmp[k] = w;
                total += w;
            }
            var real = Math.Clamp(realSize - xmin, 0, xmax);
            for (var k = 0; k < real; k++)
            {
                weights[i * maxTaps + k] = total == 0 ? 0 : (float)(tmp[k] / total);
            }
            for (var k = real; k < xmax; k++)
            {
                padWeight[i] += total == 0 ? 0 : (float)(tmp[k] / total);
            }
            start[i] = Math.Min(xmin, Math.Max(realSize - 1, 0));
            count[i] = real;
        }
        return new AxisWeights { Start = start, Count = count, Weights = weights, MaxTaps = maxTaps, PadWeight = padWeight };
    }

    private static double Triangle(double x)
    {
        x = Math.Abs(x);
        return x < 1 ? 1 - x : 0;
    }

    private static double Cubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1)
        {
            return ((a + 2) * x - (a + 3)) * x * x + 1;
        }
        return x < 2 ? (((x - 5) * x + 8) * x - 4) * a : 0;
    }
}
