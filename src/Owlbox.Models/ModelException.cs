namespace Owlbox.Models;

/// <summary>A model directory cannot be used: missing file, unknown layout, unexpected inputs or outputs.</summary>
public sealed class ModelException(string message, Exception? inner = null) : Exception(message, inner);
