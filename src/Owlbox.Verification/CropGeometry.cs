namespace Owlbox.Verification;

/// <summary>A box in image pixels (display orientation), top-left corner and size, as the labels file holds it.</summary>
public readonly record struct PixelBox(double X, double Y, double Width, double Height);

/// <summary>Integer pixel rectangle inside the image: left, top, width, height.</summary>
public readonly record struct PixelRect(int X, int Y, int Width, int Height);

/// <summary>Where to cut a crop and how large to send it.</summary>
/// <param name="Source">The pixels cut from the image (inside it, never empty).</param>
/// <param name="OutputWidth">Width of the picture sent (Source.Width times the upscale factor, rounded).</param>
/// <param name="OutputHeight">Height of the picture sent.</param>
public readonly record struct CropPlan(PixelRect Source, int OutputWidth, int OutputHeight)
{
    public double Scale => (double)OutputWidth / Source.Width;
}

/// <summary>How a box becomes a crop.</summary>
public sealed record CropOptions
{
    /// <summary>Context added on each side, as a fraction of the box's width (left/right) and height (top/bottom):
    /// 0.1 adds a tenth of the box each side. The block sends the exact box (0).</summary>
    public double Padding { get; init; } = 0.1;

    /// <summary>A crop whose shorter side is below this many pixels is upscaled until it reaches it (models see a
    /// 12-pixel crop as a blur). 0 turns it off.</summary>
    public int MinSide { get; init; } = 64;

    /// <summary>The most a crop is enlarged, so a 2-pixel sliver is not blown up to a smear.</summary>
    public double MaxUpscale { get; init; } = 8;
}

/// <summary>
/// Crop geometry, pure: padding, then clipping to the image (a box hanging off the top or left edge loses the part
/// outside, where the block shifted it right/down and showed pixels that are not in the box), then rounding outward
/// to whole pixels, then the upscale for small crops.
/// </summary>
public static class CropGeometry
{
    /// <summary>The plan for one box, or null when nothing of the padded box lies inside the image (or the box is
    /// degenerate or not finite).</summary>
    public static CropPlan? Plan(PixelBox box, int imageWidth, int imageHeight, CropOptions options)
    {
        if (imageWidth <= 0 || imageHeight <= 0
            || !double.IsFinite(box.X) || !double.IsFinite(box.Y) || !double.IsFinite(box.Width) || !double.IsFinite(box.Height)
            || box.Width <= 0 || box.Height <= 0)
        {
            return null;
        }
        var padX = box.Width * Math.Max(0, options.Padding);
        var padY = box.Height * Math.Max(0, options.Padding);
        var left = Math.Max(0, box.X - padX);
        var top = Math.Max(0, box.Y - padY);
        var right = Math.Min(imageWidth, box.X + box.Width + padX);
        var bottom = Math.Min(imageHeight, box.Y + box.Height + padY);
        // Outward to whole pixels: every pixel the box touches is in the crop.
        var x0 = (int)Math.Floor(left);
        var y0 = (int)Math.Floor(top);
        var x1 = (int)Math.Ceiling(right);
        var y1 = (int)Math.Ceiling(bottom);
        if (x1 <= x0 || y1 <= y0 || right <= left || bottom <= top)
        {
            return null;
        }
        var source = new PixelRect(x0, y0, x1 - x0, y1 - y0);
        var shorter = Math.Min(source.Width, source.Height);
        var scale = options.MinSide > 0 && shorter < options.MinSide
            ? Math.Min((double)options.MinSide / shorter, Math.Max(1, options.MaxUpscale))
            : 1;
        var outW = Math.Max(1, (int)Math.Round(source.Width * scale, MidpointRounding.AwayFromZero));
        var outH = Math.Max(1, (int)Math.Round(source.Height * scale, MidpointRounding.AwayFromZero));
        return new CropPlan(source, outW, outH);
    }
}
