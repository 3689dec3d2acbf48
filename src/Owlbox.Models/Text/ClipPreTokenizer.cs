using System.Globalization;
using System.Text;

namespace Owlbox.Models.Text;

/// <summary>
/// CLIP's pre-tokenizer, <c>'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c> (the special-token
/// alternatives are split out before), over Unicode code points: a .NET regex sees UTF-16 units, and the two halves
/// of an astral letter (𠮷, 𝐀) are not <c>\p{L}</c> to it. Alternatives are tried in the pattern's order at each
/// position, as a backtracking regex does; text matching none (white space) is dropped.
/// </summary>
public static class ClipPreTokenizer
{
    private static readonly string[] s_contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

    public static IEnumerable<string> Split(string text)
    {
        var runes = text.EnumerateRunes().ToArray();
        var i = 0;
        while (i < runes.Length)
        {
            var start = i;
            if (Contraction(runes, i) is { } length)
            {
                i += length;
            }
            else if (IsLetter(runes[i]))
            {
                while (i < runes.Length && IsLetter(runes[i]))
                {
                    i++;
                }
            }
            else if (IsNumber(runes[i]))
            {
                i++;
            }
            else if (!Rune.IsWhiteSpace(runes[i]))
            {
                while (i < runes.Length && !Rune.IsWhiteSpace(runes[i]) && !IsLetter(runes[i]) && !IsNumber(runes[i]))
                {
                    i++;
                }
            }
            else
            {
                i++;
                continue;
            }
            yield return string.Concat(runes[start..i].Select(r => r.ToString()));
        }
    }

    /// <summary>The length in code points of the contraction at <paramref name="i"/> (the pattern ignores case).</summary>
    private static int? Contraction(Rune[] runes, int i)
    {
        foreach (var c in s_contractions)
        {
            if (i + c.Length <= runes.Length && Enumerable.Range(0, c.Length).All(k => Rune.ToLowerInvariant(runes[i + k]).Value == c[k]))
            {
                return c.Length;
            }
        }
        return null;
    }

    private static bool IsLetter(Rune r) => Rune.GetUnicodeCategory(r) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter
        or UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter;

    private static bool IsNumber(Rune r) => Rune.GetUnicodeCategory(r) is UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber
        or UnicodeCategory.OtherNumber;
}
