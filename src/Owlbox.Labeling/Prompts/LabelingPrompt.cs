namespace Owlbox.Labeling.Prompts;

/// <summary>A parsed prompt: its lines in order, plus the original text (stored as the sample's
/// <c>prompt</c> metadata, exactly like the original Edge Impulse block).</summary>
public sealed class LabelingPrompt
{
    public LabelingPrompt(string text, IReadOnlyList<PromptLine> lines)
    {
        if (lines.Count == 0)
        {
            throw new InvalidPromptException([new PromptError(0, "", "the prompt has no lines; write one query per line, e.g. \"coffee cup (coffee, 0.1)\"")]);
        }
        Text = text;
        Lines = lines;
        Labels = lines.Select(l => l.Label).Distinct(StringComparer.Ordinal).ToArray();
    }

    public string Text { get; }
    public IReadOnlyList<PromptLine> Lines { get; }

    /// <summary>Distinct labels in first-appearance order; several lines (synonyms) may share one.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Parses <paramref name="text"/> or throws <see cref="InvalidPromptException"/> listing every bad line.</summary>
    public static LabelingPrompt Parse(string text, Func<string, int>? countTokens = null, int maxTokens = PromptGrammar.DefaultMaxTokens)
    {
        var (lines, errors) = PromptGrammar.Parse(text, countTokens, maxTokens);
        if (errors.Count > 0)
        {
            throw new InvalidPromptException(errors);
        }
        return new LabelingPrompt(text, lines);
    }
}
