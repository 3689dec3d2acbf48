using System.Globalization;

namespace Owlbox.Labeling.Boxes;

/// <summary>
/// The one rule for a box a labels file may hold, used by the labels file's reader and by every importer, so an
/// import can never write a box the reader then refuses: coordinates are finite numbers rounded half away from zero to
/// 32-bit pixels, width and height are positive, and the right and bottom edges (<c>x + width</c>, <c>y + height</c>)
/// fit in 32 bits too (code that adds them never overflows). Whether a box lies inside its image is a separate check,
/// <see cref="Outside"/>, for the callers that know the image's size.
/// </summary>
public static class BoxRules
{
    /// <summary>A coordinate as the labels file reads it, or null when it is not a finite number within
    /// ±(2^31 − 1).</summary>
    public static int? Pixel(double value) =>
        double.IsFinite(value) && Math.Abs(value) < int.MaxValue ? (int)Math.Round(value, MidpointRounding.AwayFromZero) : null;

    /// <summary>Why a box with these pixels cannot be stored, or null when it can. Longs, so an importer's
    /// differences of edges (<c>xmax − xmin</c>) are checked before they are narrowed.</summary>
    public static string? Problem(long x, long y, long width, long height)
    {
        if (width <= 0 || height <= 0)
        {
            return $"width and height must be positive, got {width.ToString(CultureInfo.InvariantCulture)}x{height.ToString(CultureInfo.InvariantCulture)}";
        }
        if (Math.Abs(x) >= int.MaxValue || Math.Abs(y) >= int.MaxValue || width >= int.MaxValue || height >= int.MaxValue)
        {
            return "a coordinate is beyond ±(2^31 − 1) pixels";
        }
        return x + width > int.MaxValue || y + height > int.MaxValue
            ? "its right or bottom edge (x + width, y + height) is beyond 2^31 − 1 pixels"
            : null;
    }

    /// <summary>The box from an importer's pixel numbers (rounded as the labels file rounds them), or why there is
    /// none.</summary>
    public static LabeledBox? Create(string label, double x, double y, double width, double height, out string? problem)
    {
        if (Pixel(x) is not { } px || Pixel(y) is not { } py || Pixel(width) is not { } pw || Pixel(height) is not { } ph)
        {
            problem = NotFinite(x, y, width, height);
            return null;
        }
        return Create(label, px, py, pw, ph, out problem);
    }

    /// <summary>The box from whole pixels (an importer's edges turned into a width and height), or why there is none:
    /// its label is checked too (<see cref="LabelRules"/>), as every importer comes through here.</summary>
    public static LabeledBox? Create(string label, long x, long y, long width, long height, out string? problem)
    {
        problem = LabelRules.Problem(label) ?? Problem(x, y, width, height);
        return problem is null ? new LabeledBox(label, (int)x, (int)y, (int)width, (int)height) : null;
    }

    /// <summary>The box from edges in pixels (left, top inclusive; right, bottom exclusive), each rounded as the labels
    /// file rounds, or why there is none.</summary>
    public static LabeledBox? FromEdges(string label, double left, double top, double right, double bottom, out string? problem)
    {
        if (Pixel(left) is not { } x0 || Pixel(top) is not { } y0 || Pixel(right) is not { } x1 || Pixel(bottom) is not { } y1)
        {
            problem = NotFinite(left, top, right, bottom);
            return null;
        }
        return Create(label, x0, y0, (long)x1 - x0, (long)y1 - y0, out problem);
    }

    /// <summary>Why the box does not lie inside a <paramref name="imageWidth"/> x <paramref name="imageHeight"/> image, or
    /// null when it does (computed in longs: no edge overflows).</summary>
    public static string? Outside(LabeledBox box, int imageWidth, int imageHeight) =>
        box.X < 0 || box.Y < 0 || (long)box.X + box.Width > imageWidth || (long)box.Y + box.Height > imageHeight
            ? string.Create(CultureInfo.InvariantCulture, $"the box {box.X},{box.Y} {box.Width}x{box.Height} reaches outside the {imageWidth}x{imageHeight} image")
            : null;

    private static string NotFinite(params double[] values) =>
        values.Any(v => !double.IsFinite(v))
            ? "a coordinate is not a finite number (NaN or infinity)"
            : "a coordinate is beyond ±(2^31 − 1) pixels";
}
