namespace Owlbox.LlmEmulator;

/// <summary>
/// Image input tokens as OpenAI documents them for GPT-4o (vision guide, "Calculating costs"):
/// <list type="bullet">
/// <item><c>detail: low</c>: 85 tokens, whatever the size.</item>
/// <item><c>detail: high</c>: the image is scaled down (never up) to fit inside 2048x2048, then scaled down so its
/// shorter side is at most 768; it costs 85 + 170 per 512-pixel tile of the result: 85 + 170 x ceil(w/512) x
/// ceil(h/512). A 1024x1024 image: 768x768, 4 tiles, 765 tokens; a 64x64 crop: 1 tile, 255 tokens.</item>
/// <item><c>detail: auto</c>: OpenAI picks by input size; the emulator takes low when both sides are at most 512
/// (one tile would be the same picture) and high otherwise. This is the emulator's assumption, not OpenAI's rule.</item>
/// </list>
/// </summary>
public static class ImageTokens
{
    public const int Base = 85;
    public const int PerTile = 170;

    public static int Count(int width, int height, string? detail)
    {
        detail = (detail ?? "auto").ToLowerInvariant();
        if (detail == "low" || (detail == "auto" && width <= 512 && height <= 512))
        {
            return Base;
        }
        var (w, h) = HighDetailSize(width, height);
        return Base + PerTile * (int)(Math.Ceiling(w / 512.0) * Math.Ceiling(h / 512.0));
    }

    /// <summary>The size OpenAI's high-detail resize gives: fit in 2048x2048, then shorter side at most 768.</summary>
    public static (int Width, int Height) HighDetailSize(int width, int height)
    {
        double w = width, h = height;
        if (w > 2048 || h > 2048)
        {
            var s = 2048 / Math.Max(w, h);
            (w, h) = (w * s, h * s);
        }
        if (Math.Min(w, h) > 768)
        {
            var s = 768 / Math.Min(w, h);
            (w, h) = (w * s, h * s);
        }
        return ((int)Math.Round(w), (int)Math.Round(h));
    }
}
