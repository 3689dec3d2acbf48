using SkiaSharp;

namespace Owlbox.LlmEmulator;

/// <summary>
/// What the emulator "sees": the colour name most pixels of the picture have. Each pixel is named by its hue (red,
/// orange, yellow, green, cyan, blue, purple, pink) unless it is washed out (saturation under 0.35) or dark (value
/// under 0.25), which names it "background"; the most frequent name wins (ties: the first in that order).
/// </summary>
public static class ColourNamer
{
    public const string Background = "background";

    private static readonly string[] Names = ["red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", Background];

    public static string Name(SKBitmap bitmap)
    {
        var counts = new int[Names.Length];
        for (var y = 0; y < bitmap.Height; y++)
        {
            for (var x = 0; x < bitmap.Width; x++)
            {
                counts[Bucket(bitmap.GetPixel(x, y))]++;
            }
        }
        var best = 0;
        for (var i = 1; i < counts.Length; i++)
        {
            if (counts[i] > counts[best])
            {
                best = i;
            }
        }
        return Names[best];
    }

    /// <summary>The name of one colour.</summary>
    public static string Name(SKColor c) => Names[Bucket(c)];

    private static int Bucket(SKColor c)
    {
        c.ToHsv(out var h, out var s, out var v);
        if (s < 35 || v < 25)
        {
            return Names.Length - 1;
        }
        return h switch
        {
            < 15 or >= 335 => 0,
            < 40 => 1,
            < 70 => 2,
            < 160 => 3,
            < 195 => 4,
            < 255 => 5,
            < 295 => 6,
            _ => 7,
        };
    }
}
