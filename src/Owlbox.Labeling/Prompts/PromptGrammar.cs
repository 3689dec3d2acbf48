using System.Globalization;

namespace Owlbox.Labeling.Prompts;

/// <summary>
/// The original Edge Impulse block's prompt grammar: one query per line, split at the line's last parentheses into
/// <c>search text (label, min_confidence)</c> or <c>search text (label)</c>; a line without parentheses is its own
/// label with confidence 0; blank lines are ignored. Unlike the original block, anything it would silently misread
/// (a third field, text after the closing parenthesis, unbalanced parentheses, a bad number, CLIP's special-token text)
/// is an error naming the line. A search text in square brackets, <c>[forklift] (forklift, 0.6)</c> or <c>[forklift]</c>
/// alone (label <c>forklift</c>, confidence 0), names the label whose existing boxes are the examples; such lines mix
/// freely with text lines.
/// </summary>
public static class PromptGrammar
{
    /// <summary>CLIP text encoders of OWL-ViT/OWLv2 have 16 positions, BOS and EOS included.</summary>
    public const int DefaultMaxTokens = 16;

    /// <summary>Edge Impulse passes multiline parameters with literal backslash-n; the original block turns them into newlines.</summary>
    public static string DecodeEscapedNewlines(string text) => text.Replace("\\n", "\n", StringComparison.Ordinal);

    /// <param name="countTokens">Token count of a search text including BOS/EOS; null skips the length check.</param>
    public static (IReadOnlyList<PromptLine> Lines, IReadOnlyList<PromptError> Errors) Parse(
        string text, Func<string, int>? countTokens = null, int maxTokens = DefaultMaxTokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = new List<PromptLine>();
        var errors = new List<PromptError>();
        var rawLines = text.Split(["\r\n", "\n", "\r"], StringSplitOptions.None);
        for (var i = 0; i < rawLines.Length; i++)
        {
            var raw = rawLines[i];
            if (string.IsNullOrWhiteSpace(raw))
            {
                continue;
            }
            var lineNumber = i + 1;
            if (TryParseLine(raw.Trim(), lineNumber, out var line, out var problem))
            {
                var tokens = line.IsExample ? 0 : countTokens?.Invoke(line.SearchText) ?? 0; // examples never reach the text encoder
                if (tokens > maxTokens)
                {
                    errors.Add(new PromptError(lineNumber, raw.Trim(),
                        $"search text \"{line.SearchText}\" is {tokens} tokens; the model reads at most {maxTokens} (start and end tokens included), so shorten it"));
                    continue;
                }
                lines.Add(line);
            }
            else
            {
                errors.Add(new PromptError(lineNumber, raw.Trim(), problem));
            }
        }
        if (lines.Count == 0 && errors.Count == 0)
        {
            errors.Add(new PromptError(0, "", "the prompt has no lines; write one query per line, e.g. \"coffee cup (coffee, 0.1)\""));
        }
        return (lines, errors);
    }

    private static readonly (string Marker, string Name)[] s_specialTokens = [("<|startoftext|>", "start-of-text"), ("<|endoftext|>", "end-of-text")];

    private static bool TryParseLine(string line, int lineNumber, out PromptLine parsed, out string problem)
    {
        parsed = null!;
        foreach (var (marker, name) in s_specialTokens)
        {
            // The text encoder reads these as its own sequence markers (HF's tokenizer gives their ids), not as words.
            if (line.Contains(marker, StringComparison.OrdinalIgnoreCase))
            {
                problem = $"\"{marker}\" is CLIP's {name} marker: the model would read the query as {(name == "end-of-text" ? "ending" : "starting")} there; remove it";
                return false;
            }
        }
        var open = line.LastIndexOf('(');
        var close = line.LastIndexOf(')');
        if (open < 0 && close < 0)
        {
            if (!TryParseSearch(line, out var alone, out var isExample, out problem))
            {
                return false;
            }
            parsed = new PromptLine(lineNumber, alone, alone, 0, isExample);
            return true;
        }
        if (open < 0 || close < open)
        {
            problem = "unbalanced parentheses; expected \"search text (label, min_confidence)\"";
            return false;
        }
        if (close != line.Length - 1)
        {
            problem = $"unexpected text \"{line[(close + 1)..].Trim()}\" after the closing parenthesis";
            return false;
        }
        var search = line[..open].Trim();
        var inside = line[(open + 1)..close];
        if (search.Length == 0)
        {
            problem = "empty search text before the parentheses";
            return false;
        }
        if (!TryParseSearch(search, out search, out var example, out problem))
        {
            return false;
        }
        var parts = inside.Split(',');
        if (parts.Length > 2)
        {
            problem = $"expected \"(label)\" or \"(label, min_confidence)\" but found {parts.Length} comma-separated fields";
            return false;
        }
        var label = parts[0].Trim();
        if (label.Length == 0)
        {
            problem = "empty label inside the parentheses";
            return false;
        }
        var confidence = 0.0;
        if (parts.Length == 2)
        {
            var value = parts[1].Trim();
            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out confidence) || !double.IsFinite(confidence))
            {
                problem = $"min_confidence \"{value}\" is not a number";
                return false;
            }
            if (confidence is < 0 or > 1)
            {
                problem = $"min_confidence {value} is out of range; it is a score between 0 and 1";
                return false;
            }
        }
        parsed = new PromptLine(lineNumber, search, label, confidence, example);
        problem = "";
        return true;
    }

    /// <summary>A search text, or <c>[name]</c>: the label whose boxes are the examples. A text that opens a bracket
    /// must be exactly one bracketed name; brackets elsewhere in a text are words as before.</summary>
    private static bool TryParseSearch(string text, out string search, out bool isExample, out string problem)
    {
        (search, isExample, problem) = (text, false, "");
        if (!text.StartsWith('['))
        {
            return true;
        }
        var end = text.IndexOf(']', StringComparison.Ordinal);
        if (text.IndexOf('[', 1) is var inner and > 0 && (end < 0 || inner < end))
        {
            problem = $"\"{text}\" nests brackets; write [label]";
            return false;
        }
        if (end < 0)
        {
            problem = $"\"{text}\" opens a '[' it does not close; write [label] to use that label's boxes as examples";
            return false;
        }
        if (end != text.Length - 1)
        {
            problem = $"unexpected text \"{text[(end + 1)..].Trim()}\" after \"{text[..(end + 1)]}\"; an example line is [label] alone, optionally followed by (label, min_confidence)";
            return false;
        }
        var name = text[1..end].Trim();
        if (name.Length == 0)
        {
            problem = "empty example label \"[]\"; write the label whose boxes are the examples, e.g. [forklift]";
            return false;
        }
        (search, isExample) = (name, true);
        return true;
    }
}
