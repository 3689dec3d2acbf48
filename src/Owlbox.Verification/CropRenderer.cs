using Owlbox.Detection.Imaging;
using SkiaSharp;

namespace Owlbox.Verification;

/// <summary>
/// Cuts crops out of one decoded image (display orientation: <see cref="ImageDecoder"/> has applied EXIF, so a box
/// lands on what a viewer shows) and encodes each as a JPEG, as the block sends them (quality 90). Alpha is ignored,
/// as the detector's preprocessing ignores it.
/// </summary>
public sealed class CropRenderer : IDisposable
{
    private readonly SKImage _image;

    public CropRenderer(DecodedImage decoded)
    {
        (Width, Height) = (decoded.Width, decoded.Height);
        var info = new SKImageInfo(decoded.Width, decoded.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        _image = SKImage.FromPixelCopy(info, decoded.Rgba, info.RowBytes)
            ?? throw new ImageDecodeException("the decoded image could not be prepared for cropping");
    }

    public int Width { get; }
    public int Height { get; }

    /// <summary>The crop's JPEG bytes (deterministic for the same image, plan and quality: the cache key hashes them).</summary>
    public byte[] Encode(CropPlan plan, int jpegQuality = 90)
    {
        var s = plan.Source;
        var info = new SKImageInfo(plan.OutputWidth, plan.OutputHeight, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var surface = SKSurface.Create(info) ?? throw new InvalidOperationException("could not allocate a crop surface");
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.Black);
        // Upscaling uses Mitchell cubic (smooth, no ringing to speak of); a 1:1 crop copies pixels exactly.
        var sampling = plan.OutputWidth == s.Width && plan.OutputHeight == s.Height
            ? new SKSamplingOptions(SKFilterMode.Nearest)
            : new SKSamplingOptions(SKCubicResampler.Mitchell);
        using var paint = new SKPaint();
        canvas.DrawImage(_image, new SKRect(s.X, s.Y, s.X + s.Width, s.Y + s.Height),
            new SKRect(0, 0, plan.OutputWidth, plan.OutputHeight), sampling, paint);
        canvas.Flush();
        using var snapshot = surface.Snapshot();
        using var data = snapshot.Encode(SKEncodedImageFormat.Jpeg, jpegQuality)
            ?? throw new InvalidOperationException("could not encode the crop as JPEG");
        return data.ToArray();
    }

    public void Dispose() => _image.Dispose();
}
