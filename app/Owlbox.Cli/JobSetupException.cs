namespace Owlbox.Cli;

/// <summary>A job cannot start: bad options, prompt, model or dataset. Nothing has been read or written yet.</summary>
public sealed class JobSetupException(string message, Exception? inner = null) : Exception(message, inner);
