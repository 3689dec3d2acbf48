namespace Owlbox.Labeling.Boxes;

/// <summary>An axis-aligned box in integer image pixels: top-left corner plus size, origin at the image's
/// top-left as a viewer shows it (EXIF orientation applied). Edge Impulse rejects non-integer boxes.</summary>
public readonly record struct PixelBox(int X, int Y, int Width, int Height)
{
    public long Area => (long)Width * Height;
    public int Right => X + Width;
    public int Bottom => Y + Height;

    /// <summary>Intersection over union; 0 when either box is empty.</summary>
    public double IoU(PixelBox other)
    {
        var ix = Math.Max(0, Math.Min(Right, other.Right) - Math.Max(X, other.X));
        var iy = Math.Max(0, Math.Min(Bottom, other.Bottom) - Math.Max(Y, other.Y));
        var intersection = (double)ix * iy;
        var union = Area + other.Area - intersection;
        return union <= 0 ? 0 : intersection / union;
    }
}
