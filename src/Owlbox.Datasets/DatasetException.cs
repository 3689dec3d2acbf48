namespace Owlbox.Datasets;

/// <summary>A dataset cannot be read or written as asked (missing folder, invalid labels file, unknown sample id).</summary>
public sealed class DatasetException(string message, Exception? inner = null) : Exception(message, inner);
