using Owlbox.Models;

namespace Owlbox.Detection.Imaging;

/// <summary>
/// Turns a decoded image into the model's <c>pixel_values</c> (NCHW float, CLIP-normalised) in one resampling pass:
/// OWL-ViT squashes to S×S (bicubic); OWLv2 pads bottom/right to a max(W,H) square and then resizes (the padding is
/// virtual: taps that fall in it read the padding colour, so no padded copy is ever made).
/// </summary>
public sealed class ImagePreprocessor(OwlModel model, Owlv2Padding padding = Owlv2Padding.Black)
{
    /// <summary>The padding colour in 8-bit units: 0.5 after rescaling is 127.5.</summary>
    private readonly float _pad = padding == Owlv2Padding.Grey ? 127.5f : 0f;

    public int Size => model.ImageSize;

    /// <summary>Floats per image: 3 × S × S.</summary>
    public int TensorLength => 3 * model.ImageSize * model.ImageSize;

    public void Preprocess(DecodedImage image, Span<float> destination)
    {
        if (destination.Length < TensorLength)
        {
            throw new ArgumentException($"destination holds {destination.Length} floats, needs {TensorLength}", nameof(destination));
        }
        var s = model.ImageSize;
        var padded = model.Type == OwlModelType.Owlv2;
        var virtualW = padded ? Math.Max(image.Width, image.Height) : image.Width;
        var virtualH = padded ? Math.Max(image.Width, image.Height) : image.Height;
        var filter = padded ? ResampleFilter.Bilinear : ResampleFilter.Bicubic;
        var xs = AxisWeights.Compute(virtualW, image.Width, s, filter);
        var ys = AxisWeights.Compute(virtualH, image.Height, s, filter);

        // Horizontal pass over the real rows: rows × S × 3, interleaved.
        var pooled = System.Buffers.ArrayPool<float>.Shared.Rent(image.Height * s * 3);
        try
        {
            Resample(image, destination, xs, ys, pooled);
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(pooled);
        }
    }

    private void Resample(DecodedImage image, Span<float> destination, AxisWeights xs, AxisWeights ys, float[] tmp)
    {
        var s = model.ImageSize;
        var rgba = image.Rgba;
        for (var y = 0; y < image.Height; y++)
        {
            var rowIn = y * image.Width * 4;
            var rowOut = y * s * 3;
            for (var x = 0; x < s; x++)
            {
                float r = 0, g = 0, b = 0;
                var start = xs.Start[x];
                var wOff = x * xs.MaxTaps;
                for (var k = 0; k < xs.Count[x]; k++)
                {
                    var w = xs.Weights[wOff + k];
                    var p = rowIn + (start + k) * 4;
                    r += rgba[p] * w;
                    g += rgba[p + 1] * w;
                    b += rgba[p + 2] * w;
                }
                var pad = _pad * xs.PadWeight[x];
                tmp[rowOut + x * 3] = r + pad;
                tmp[rowOut + x * 3 + 1] = g + pad;
                tmp[rowOut + x * 3 + 2] = b + pad;
            }
        }

        // Vertical pass, then rescale and normalise straight into CHW.
        var plane = s * s;
        var scale = model.RescaleFactor;
        Span<float> mul = stackalloc float[3];
        Span<float> add = stackalloc float[3];
        for (var c = 0; c < 3; c++)
        {
            mul[c] = scale / model.ImageStd[c];
            add[c] = -model.ImageMean[c] / model.ImageStd[c];
        }
        for (var y = 0; y < s; y++)
        {
            var start = ys.Start[y];
            var count = ys.Count[y];
            var wOff = y * ys.MaxTaps;
            for (var x = 0; x < s; x++)
            {
                float r = 0, g = 0, b = 0;
                for (var k = 0; k < count; k++)
                {
                    var w = ys.Weights[wOff + k];
                    var p = ((start + k) * s + x) * 3;
                    r += tmp[p] * w;
                    g += tmp[p + 1] * w;
                    b += tmp[p + 2] * w;
                }
                var pad = _pad * ys.PadWeight[y];
                (r, g, b) = (r + pad, g + pad, b + pad);
                var o = y * s + x;
                // Clamp like the reference resizers do (PIL rounds to uint8; skimage clips to the input range).
                destination[o] = Math.Clamp(r, 0, 255) * mul[0] + add[0];
                destination[plane + o] = Math.Clamp(g, 0, 255) * mul[1] + add[1];
                destination[2 * plane + o] = Math.Clamp(b, 0, 255) * mul[2] + add[2];
            }
        }
    }
}
