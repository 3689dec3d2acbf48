namespace Owlbox.Labeling.Prompts;

/// <summary>Why one prompt line was rejected.</summary>
public sealed record PromptError(int LineNumber, string LineText, string Problem)
{
    public override string ToString() => $"prompt line {LineNumber} \"{LineText}\": {Problem}";
}
