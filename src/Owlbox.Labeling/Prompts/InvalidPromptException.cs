namespace Owlbox.Labeling.Prompts;

/// <summary>A prompt has one or more malformed lines; raised before any work starts.</summary>
public sealed class InvalidPromptException(IReadOnlyList<PromptError> errors)
    : Exception("Invalid prompt:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  " + e)))
{
    public IReadOnlyList<PromptError> Errors { get; } = errors;
}
