using System.Globalization;
using System.Text;

namespace Owlbox.Labeling.Boxes;

/// <summary>
/// The one rule for a label an import may bring in and an export may write: not empty or only blanks, at most
/// <see cref="MaxLength"/> characters, and no control character or line/paragraph separator (a line break in a label
/// adds a line to a YOLO <c>classes.txt</c> and shifts every later class id; a NUL cannot be written as XML). The labels
/// file's reader does not apply it, so a dataset that already holds such a label still opens; the import and export
/// boundaries do.
/// </summary>
public static class LabelRules
{
    public const int MaxLength = 256;

    /// <summary>Why <paramref name="label"/> cannot be imported or exported, or null when it can.</summary>
    public static string? Problem(string label)
    {
        if (string.IsNullOrWhiteSpace(label))
        {
            return label.Length == 0 ? "the label is empty" : $"the label '{Escape(label)}' is only blanks";
        }
        if (label.Length > MaxLength)
        {
            return $"the label '{Escape(label[..40])}...' is {label.Length.ToString(CultureInfo.InvariantCulture)} characters long (at most {MaxLength.ToString(CultureInfo.InvariantCulture)})";
        }
        return label.Any(Breaks)
            ? $"the label '{Escape(label)}' holds a control character or line break (shown escaped); labels are one line of text"
            : null;
    }

    /// <summary>The text with every control character and line/paragraph separator written as an escape (<c>\n</c>,
    /// <c>\0</c>, <c>\u2028</c>), so a message shows it without breaking the terminal's lines.</summary>
    public static string Escape(string text)
    {
        if (!text.Any(Breaks))
        {
            return text;
        }
        var escaped = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            escaped.Append(c switch
            {
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\0' => "\\0",
                _ when Breaks(c) => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                _ => c.ToString(),
            });
        }
        return escaped.ToString();
    }

    private static bool Breaks(char c) =>
        char.IsControl(c) || char.GetUnicodeCategory(c) is UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}
