using SkiaSharp;

namespace Owlbox.Detection.Imaging;

/// <summary>
/// Decodes JPEG, PNG, WebP, GIF and BMP with SkiaSharp (grayscale, palette, alpha, 16-bit and CMYK sources all become
/// 8-bit RGBA), applies EXIF orientation so boxes land where a viewer shows the object, and rejects empty,
/// truncated, unknown or oversized input with a specific message.
/// </summary>
public static class ImageDecoder
{
    public static DecodedImage Decode(byte[] bytes, DecodeLimits? limits = null)
    {
        limits ??= new DecodeLimits();
        if (bytes.Length == 0)
        {
            throw new ImageDecodeException("the file is empty (0 bytes)");
        }
        if (bytes.Length > limits.MaxFileBytes)
        {
            throw new ImageDecodeException($"the file is {bytes.Length:N0} bytes, above the {limits.MaxFileBytes:N0}-byte limit");
        }
        using var data = SKData.CreateCopy(bytes);
        using var stream = new SKMemoryStream(data);
        using var codec = Header(SKCodec.Create(stream, out var createResult), createResult, limits);
        var (w, h) = (codec.Info.Width, codec.Info.Height);
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var stored = DecodedImage.Allocate(w, h);
        try
        {
            SKCodecResult result;
            unsafe
            {
                fixed (byte* p = stored.Writable)
                {
                    result = codec.GetPixels(info, (IntPtr)p);
                }
            }
            switch (result)
            {
                case SKCodecResult.Success:
                    break;
                case SKCodecResult.IncompleteInput:
                case SKCodecResult.ErrorInInput:
                    throw new ImageDecodeException("the image data is truncated or corrupt (decoding stopped before the last row)");
                default:
                    throw new ImageDecodeException($"the image could not be decoded ({result})");
            }
            return Orient(stored, codec.EncodedOrigin);
        }
        catch
        {
            stored.Dispose();
            throw;
        }
    }

    /// <summary>The size <see cref="Decode"/> would give (EXIF orientation applied), from the header alone: no pixel is
    /// decoded, so it costs a few KB whatever the image. The same checks but the pixel data's: an image truncated after
    /// its header has a size here and fails only when decoded.</summary>
    /// <param name="stream">The file, read from its start; left open.</param>
    public static (int Width, int Height) ReadSize(Stream stream, DecodeLimits? limits = null)
    {
        limits ??= new DecodeLimits();
        var length = stream.Length;
        if (length == 0)
        {
            throw new ImageDecodeException("the file is empty (0 bytes)");
        }
        if (length > limits.MaxFileBytes)
        {
            throw new ImageDecodeException($"the file is {length:N0} bytes, above the {limits.MaxFileBytes:N0}-byte limit");
        }
        using var managed = new SKManagedStream(stream, disposeManagedStream: false);
        using var codec = Header(SKCodec.Create(managed, out var createResult), createResult, limits);
        var (w, h) = (codec.Info.Width, codec.Info.Height);
        return Swaps(codec.EncodedOrigin) ? (h, w) : (w, h);
    }

    /// <summary>The codec, when the header names a supported image of an allowed size; disposed otherwise.</summary>
    private static SKCodec Header(SKCodec? codec, SKCodecResult createResult, DecodeLimits limits)
    {
        if (codec is null)
        {
            throw new ImageDecodeException(createResult == SKCodecResult.IncompleteInput
                ? "the image is truncated (its header is incomplete)"
                : "not a supported image (expected JPEG, PNG, WebP, GIF or BMP)");
        }
        var (w, h) = (codec.Info.Width, codec.Info.Height);
        if (w <= 0 || h <= 0)
        {
            codec.Dispose();
            throw new ImageDecodeException($"the image declares an invalid size {w}x{h}");
        }
        if ((long)w * h > limits.MaxPixels)
        {
            codec.Dispose();
            throw new ImageDecodeException($"the image is {w}x{h} = {(long)w * h:N0} pixels, above the {limits.MaxPixels:N0}-pixel limit (possible decompression bomb)");
        }
        return codec;
    }

    /// <summary>Whether an EXIF orientation turns the image a quarter (its shown width is its stored height).</summary>
    private static bool Swaps(SKEncodedOrigin origin) =>
        origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;

    /// <summary>Applies an EXIF orientation: returns the pixels as displayed (a new image; <paramref name="stored"/>
    /// is disposed unless it is returned as it is).</summary>
    private static DecodedImage Orient(DecodedImage stored, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft or 0)
        {
            return stored;
        }
        var (sw, sh) = (stored.Width, stored.Height);
        var (dw, dh) = Swaps(origin) ? (sh, sw) : (sw, sh);
        var shown = DecodedImage.Allocate(dw, dh);
        using var _ = stored;
        var src = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(stored.Rgba);
        var dst = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(shown.Writable);
        for (var dy = 0; dy < dh; dy++)
        {
            for (var dx = 0; dx < dw; dx++)
            {
                var (sx, sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (sw - 1 - dx, dy),
                    SKEncodedOrigin.BottomRight => (sw - 1 - dx, sh - 1 - dy),
                    SKEncodedOrigin.BottomLeft => (dx, sh - 1 - dy),
                    SKEncodedOrigin.LeftTop => (dy, dx),
                    SKEncodedOrigin.RightTop => (dy, sh - 1 - dx),
                    SKEncodedOrigin.RightBottom => (sw - 1 - dy, sh - 1 - dx),
                    SKEncodedOrigin.LeftBottom => (sw - 1 - dy, dx),
                    _ => (dx, dy),
                };
                dst[dy * dw + dx] = src[sy * sw + sx];
            }
        }
        return shown;
    }
}
