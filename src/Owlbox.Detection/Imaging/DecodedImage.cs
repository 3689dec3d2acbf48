using System.Buffers;

namespace Owlbox.Detection.Imaging;

/// <summary>An image in display orientation as 8-bit RGBA (unpremultiplied), row-major, 4 bytes per pixel.
/// Alpha is ignored downstream, as PIL's convert("RGB") does in the reference preprocessing. The pixels live in a
/// pooled buffer (a 1080p image is 8 MB: a fresh large-object allocation per image costs full GCs on a long job);
/// dispose to return it.</summary>
public sealed class DecodedImage : IDisposable
{
    private byte[]? _buffer;

    internal DecodedImage(int width, int height, byte[] pooled)
    {
        (Width, Height, _buffer) = (width, height, pooled);
    }

    public int Width { get; }
    public int Height { get; }

    public ReadOnlySpan<byte> Rgba => Writable;

    internal Span<byte> Writable => (_buffer ?? throw new ObjectDisposedException(nameof(DecodedImage))).AsSpan(0, Width * Height * 4);

    /// <summary>An image whose pixels are still to be written, in a pooled buffer.</summary>
    internal static DecodedImage Allocate(int width, int height) =>
        new(width, height, ArrayPool<byte>.Shared.Rent(checked(width * height * 4)));

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } b)
        {
            ArrayPool<byte>.Shared.Return(b);
        }
    }
}
