namespace Owlbox.Detection.Imaging;

/// <summary>Bounds checked before any pixel is decoded, so a decompression bomb costs nothing.</summary>
public sealed record DecodeLimits
{
    /// <summary>Largest accepted image, in pixels (default 64 MP: a 9248x6936 photo fits; a 4-byte RGBA buffer is 256 MB).</summary>
    public long MaxPixels { get; init; } = 64L * 1024 * 1024;

    /// <summary>Largest accepted file, in bytes (default 100 MB).</summary>
    public long MaxFileBytes { get; init; } = 100L * 1024 * 1024;
}
