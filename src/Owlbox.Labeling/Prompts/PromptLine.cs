namespace Owlbox.Labeling.Prompts;

/// <summary>One query of a prompt: the text sent to the model, the label written on its boxes, and the minimum
/// sigmoid score (0..1, inclusive) a box needs to be kept.</summary>
/// <param name="LineNumber">1-based line number in the prompt text, for error messages and provenance.</param>
/// <param name="IsExample">The line was <c>[name]</c>: <paramref name="SearchText"/> is the label whose existing boxes
/// are the examples (each box's patch embedding is a query), not text for the text encoder.</param>
public sealed record PromptLine(int LineNumber, string SearchText, string Label, double MinConfidence, bool IsExample = false);
