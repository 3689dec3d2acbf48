namespace Owlbox.Gateway;

/// <summary>A job cannot be accepted; every problem is listed (bad prompt lines by number, bad options, unknown model
/// or dataset). Nothing was recorded or queued.</summary>
public sealed class JobValidationException(IReadOnlyList<string> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
