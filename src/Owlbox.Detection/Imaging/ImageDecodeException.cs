namespace Owlbox.Detection.Imaging;

/// <summary>One image cannot be labeled; the message says why in words a user can act on.</summary>
public sealed class ImageDecodeException(string message, Exception? inner = null) : Exception(message, inner);
