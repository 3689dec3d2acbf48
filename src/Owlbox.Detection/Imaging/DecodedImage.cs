namespace Owlbox.Detection.Imaging;

/// <summary>An image in display orientation as 8-bit RGBA (unpremultiplied), row-major, 4 bytes per pixel.
/// Alpha is ignored downstream, as PIL's convert("RGB") does in the reference preprocessing.</summary>
public sealed record DecodedImage(int Width, int Height, byte[] Rgba);
