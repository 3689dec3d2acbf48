using System.Text.Json;

namespace Owlbox.Verification;

/// <summary>
/// Reads a model's answer as the relabel block does (lower-cased, trailing dots stripped; we also trim, which the
/// block forgot, so "Remove\n" removes) and matches it leniently against the allowed answers: surrounding quotes or
/// backticks, a code fence, an "Answer: red" prefix and a structured-output object <c>{"label": "red"}</c> all read as
/// "red". Pure: no I/O.
/// </summary>
public static class AnswerNormaliser
{
    private static readonly string[] Prefixes = ["answer:", "label:", "final answer:", "the answer is", "answer is"];

    /// <summary>The block's normalisation: lower-case, trailing dots stripped, plus trimming.</summary>
    public static string Normalise(string raw)
    {
        var s = raw.Trim().ToLowerInvariant();
        // The block strips dots only at the end (/(\.)+$/); whitespace before them is trimmed too.
        return s.TrimEnd().TrimEnd('.').TrimEnd();
    }

    /// <summary>The answer's text with the wrappers models put around a one-word answer taken off, normalised.</summary>
    public static string Unwrap(string raw)
    {
        var s = raw.Trim();
        if (s.StartsWith("```", StringComparison.Ordinal))
        {
            // ```json\n{...}\n``` or ```red```
            s = s.Trim('`');
            var newline = s.IndexOf('\n', StringComparison.Ordinal);
            if (newline >= 0 && !s[..newline].Contains('{', StringComparison.Ordinal) && s[(newline + 1)..].Trim().Length > 0)
            {
                s = s[(newline + 1)..];
            }
            s = s.Trim();
        }
        if (TryReadJsonLabel(s, out var fromJson))
        {
            s = fromJson;
        }
        s = Normalise(s);
        foreach (var prefix in Prefixes)
        {
            if (s.StartsWith(prefix, StringComparison.Ordinal))
            {
                s = s[prefix.Length..].TrimStart(' ', ':', '-');
                break;
            }
        }
        s = s.Trim().Trim('"', '\'', '`', '*', '“', '”', '‘', '’').Trim();
        return Normalise(s);
    }

    /// <summary>
    /// Judges an answer for a box labelled <paramref name="currentLabel"/>. With allowed answers given, the answer must
    /// be one of them or a disable word (compared case-insensitively; the allowed spelling is returned); with none
    /// given, any non-empty answer becomes the label, as the block does.
    /// </summary>
    public static Verdict Judge(string raw, string currentLabel, IReadOnlyCollection<string> allowed, IReadOnlyCollection<string> disable)
    {
        var answer = Unwrap(raw);
        if (answer.Length == 0)
        {
            return new Verdict.Invalid(raw);
        }
        foreach (var word in disable)
        {
            if (string.Equals(Normalise(word), answer, StringComparison.Ordinal))
            {
                return new Verdict.Remove(Normalise(word));
            }
        }
        string label;
        if (allowed.Count == 0)
        {
            label = answer;
        }
        else if (allowed.FirstOrDefault(a => string.Equals(Normalise(a), answer, StringComparison.Ordinal)) is { } match)
        {
            label = match.Trim();
        }
        else
        {
            return new Verdict.Invalid(raw);
        }
        return string.Equals(label.Trim(), currentLabel.Trim(), StringComparison.OrdinalIgnoreCase)
            ? new Verdict.Keep()
            : new Verdict.Relabel(label);
    }

    /// <summary>The "reason" a structured answer gave, when it gave one (models asked for a label and a reason).</summary>
    public static string? TryReadReason(string raw)
    {
        var s = raw.Trim();
        if (!s.StartsWith('{'))
        {
            return null;
        }
        try
        {
            using var doc = JsonDocument.Parse(s);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.EnumerateObject().FirstOrDefault(p => string.Equals(p.Name, "reason", StringComparison.OrdinalIgnoreCase)) is { Value.ValueKind: JsonValueKind.String } r
                ? r.Value.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool TryReadJsonLabel(string s, out string label)
    {
        label = "";
        if (!s.StartsWith('{'))
        {
            return false;
        }
        try
        {
            using var doc = JsonDocument.Parse(s);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Value.ValueKind == JsonValueKind.String
                    && (string.Equals(p.Name, "label", StringComparison.OrdinalIgnoreCase)
                        || string.Equals(p.Name, "answer", StringComparison.OrdinalIgnoreCase)))
                {
                    label = p.Value.GetString()!;
                    return true;
                }
            }
            return false;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
