using Owlbox.Labeling.Prompts;

namespace Owlbox.Labeling.Tests.Prompts;

public class PromptGrammarTests
{
    [Theory]
    [InlineData("coffee cup (coffee, 0.1)", "coffee cup", "coffee", 0.1)]
    [InlineData("A person (person, 0.2)", "A person", "person", 0.2)]
    [InlineData("beer bottle (beer)", "beer bottle", "beer", 0.0)]
    [InlineData("dog", "dog", "dog", 0.0)]
    [InlineData("  spaced out   ( spaced ,  0.35 )  ", "spaced out", "spaced", 0.35)]
    [InlineData("cup (with handle) (cup, 0.3)", "cup (with handle)", "cup", 0.3)] // last parentheses win
    [InlineData("thing (x, 1)", "thing", "x", 1.0)]
    [InlineData("thing (x, 0)", "thing", "x", 0.0)]
    [InlineData("thing (x, 1e-1)", "thing", "x", 0.1)]
    [InlineData("thing (x,.5)", "thing", "x", 0.5)]
    [InlineData("red car(car,0.4)", "red car", "car", 0.4)]
    [InlineData("bird (two words label, 0.3)", "bird", "two words label", 0.3)]
    public void Parse_ValidLine_SplitsLikeTheOriginalBlock(string line, string search, string label, double confidence)
    {
        var (lines, errors) = PromptGrammar.Parse(line);

        Assert.Empty(errors);
        var parsed = Assert.Single(lines);
        Assert.Equal(search, parsed.SearchText);
        Assert.Equal(label, parsed.Label);
        Assert.Equal(confidence, parsed.MinConfidence, 9);
        Assert.Equal(1, parsed.LineNumber);
    }

    [Theory]
    [InlineData("thing (x, abc)", "not a number")]
    [InlineData("thing (x, )", "not a number")]
    [InlineData("thing (x, NaN)", "not a number")]
    [InlineData("thing (x, 1.5)", "out of range")]
    [InlineData("thing (x, -0.1)", "out of range")]
    [InlineData("(x, 0.2)", "empty search text")]
    [InlineData("   (x)", "empty search text")]
    [InlineData("thing (, 0.2)", "empty label")]
    [InlineData("thing ()", "empty label")]
    [InlineData("thing (x, 0.2, 0.3)", "3 comma-separated fields")]
    [InlineData("thing (x, 0.2) trailing", "after the closing parenthesis")]
    [InlineData("thing (x, 0.2", "unbalanced")]
    [InlineData("thing x, 0.2)", "unbalanced")]
    [InlineData("thing )x( ", "unbalanced")]
    [InlineData("cat<|endoftext|> (cat)", "CLIP's end-of-text marker")]
    [InlineData("<|StartOfText|> cat", "CLIP's start-of-text marker")]
    public void Parse_MalformedLine_NamesTheLineAndTheProblem(string line, string problem)
    {
        var (lines, errors) = PromptGrammar.Parse("dog\n" + line);

        Assert.Single(lines);
        var error = Assert.Single(errors);
        Assert.Equal(2, error.LineNumber);
        Assert.Contains(problem, error.Problem, StringComparison.Ordinal);
        Assert.Contains("prompt line 2", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BlankLinesAndLineEndings_AreIgnoredButLineNumbersKept()
    {
        var (lines, errors) = PromptGrammar.Parse("\n  \r\ncat (cat, 0.3)\r\n\n\tdog\r");

        Assert.Empty(errors);
        Assert.Equal([3, 5], lines.Select(l => l.LineNumber));
        Assert.Equal(["cat", "dog"], lines.Select(l => l.Label));
    }

    [Fact]
    public void Parse_Synonyms_KeepTheirOwnThresholdsAndShareTheLabel()
    {
        var prompt = LabelingPrompt.Parse("coffee cup (coffee, 0.1)\nmug (coffee, 0.4)\nperson");

        Assert.Equal(["coffee", "person"], prompt.Labels);
        Assert.Equal([0.1, 0.4, 0.0], prompt.Lines.Select(l => l.MinConfidence));
    }

    [Fact]
    public void DecodeEscapedNewlines_TurnsLiteralBackslashNIntoLines()
    {
        var text = PromptGrammar.DecodeEscapedNewlines("cat (cat, 0.2)\\ndog (dog, 0.3)");

        var prompt = LabelingPrompt.Parse(text);
        Assert.Equal(["cat", "dog"], prompt.Labels);
    }

    [Fact]
    public void Parse_TooManyTokens_IsRejectedWithTheCount()
    {
        // A fake tokenizer: one token per word, plus start and end.
        static int Count(string s) => s.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length + 2;
        var longText = string.Join(' ', Enumerable.Repeat("word", 15));

        var (lines, errors) = PromptGrammar.Parse($"short one (a)\n{longText} (b, 0.2)", Count, 16);

        Assert.Single(lines);
        var error = Assert.Single(errors);
        Assert.Equal(2, error.LineNumber);
        Assert.Contains("17 tokens", error.Problem, StringComparison.Ordinal);
        Assert.Contains("at most 16", error.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n\n \t ")]
    public void Parse_EmptyPrompt_IsAnError(string text)
    {
        var e = Assert.Throws<InvalidPromptException>(() => LabelingPrompt.Parse(text));
        Assert.Contains("no lines", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LabelingPromptParse_ReportsEveryBadLineAtOnce()
    {
        var e = Assert.Throws<InvalidPromptException>(() => LabelingPrompt.Parse("a (a, 2)\nok\nb (b, x)"));

        Assert.Equal([1, 3], e.Errors.Select(x => x.LineNumber));
        Assert.Contains("prompt line 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("prompt line 3", e.Message, StringComparison.Ordinal);
    }
}
