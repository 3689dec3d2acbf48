namespace Owlbox.Labeling.Boxes;

/// <summary>Model-output box maths: normalised (cx, cy, w, h) relative to the model input → image pixels.</summary>
public static class BoxGeometry
{
    /// <summary>
    /// Maps a normalised centre-size box to integer pixels of the original image, clamped to the image.
    /// Corners are rounded (not truncated, unlike the HF pipeline's <c>int()</c>) so a box that exactly covers an
    /// object stays exact; a box that is empty after clamping returns null.
    /// </summary>
    public static PixelBox? ToPixels(float cx, float cy, float w, float h, InputLayout layout, int imageWidth, int imageHeight)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageHeight);
        var (scaleX, scaleY) = InputScale(layout, imageWidth, imageHeight);
        var x0 = Clamp(Math.Round((cx - w / 2.0) * scaleX), imageWidth);
        var x1 = Clamp(Math.Round((cx + w / 2.0) * scaleX), imageWidth);
        var y0 = Clamp(Math.Round((cy - h / 2.0) * scaleY), imageHeight);
        var y1 = Clamp(Math.Round((cy + h / 2.0) * scaleY), imageHeight);
        if (x1 <= x0 || y1 <= y0)
        {
            return null;
        }
        return new PixelBox(x0, y0, x1 - x0, y1 - y0);
    }

    /// <summary>The inverse of <see cref="ToPixels"/> without rounding: a box of the original image as corners
    /// (x0, y0, x1, y1) in the normalised frame the model's boxes are in (for OWLv2, the padded square).</summary>
    public static (float X0, float Y0, float X1, float Y1) ToNormalizedCorners(PixelBox box, InputLayout layout, int imageWidth, int imageHeight)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageHeight);
        var (scaleX, scaleY) = InputScale(layout, imageWidth, imageHeight);
        return ((float)(box.X / scaleX), (float)(box.Y / scaleY), (float)(box.Right / scaleX), (float)(box.Bottom / scaleY));
    }

    /// <summary>Original-image pixels per unit of the model's normalised frame, along x and y.</summary>
    public static (double X, double Y) InputScale(InputLayout layout, int imageWidth, int imageHeight) =>
        // OWLv2's boxes are relative to the padded square, whose side is the longer image side (HF #30686).
        layout == InputLayout.PadBottomRight
            ? (Math.Max(imageWidth, imageHeight), Math.Max(imageWidth, imageHeight))
            : (imageWidth, imageHeight);

    private static int Clamp(double value, int max) =>
        double.IsNaN(value) ? 0 : (int)Math.Clamp(value, 0, max);
}
