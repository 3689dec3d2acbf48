namespace Owlbox.Jobs;

/// <summary>The job store cannot be opened: a damaged or foreign file where it should be, a folder that cannot be
/// made. Said in words naming the path and what to do; it is the user's to fix, not a bug.</summary>
public sealed class JobStoreException(string message, Exception? inner = null) : Exception(message, inner);
