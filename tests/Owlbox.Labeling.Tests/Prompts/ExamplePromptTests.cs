using Owlbox.Labeling.Prompts;

namespace Owlbox.Labeling.Tests.Prompts;

/// <summary>Example lines: <c>[label]</c> names the label whose existing boxes are the queries (issue 26).</summary>
public class ExamplePromptTests
{
    [Theory]
    [InlineData("[forklift] (forklift, 0.6)", "forklift", "forklift", 0.6)]
    [InlineData("[forklift]", "forklift", "forklift", 0.0)]
    [InlineData("  [ fork lift ]  ", "fork lift", "fork lift", 0.0)]
    [InlineData("[forklift] (truck)", "forklift", "truck", 0.0)]
    [InlineData("[forklift](truck,0.25)", "forklift", "truck", 0.25)]
    public void AnExampleLine_NamesItsExamplesLabel_AndTheLabelItWrites(string line, string examples, string label, double confidence)
    {
        var (lines, errors) = PromptGrammar.Parse(line);

        Assert.Empty(errors);
        var parsed = Assert.Single(lines);
        Assert.True(parsed.IsExample);
        Assert.Equal(examples, parsed.SearchText);
        Assert.Equal(label, parsed.Label);
        Assert.Equal(confidence, parsed.MinConfidence, 9);
    }

    [Theory]
    [InlineData("a [big] car (car)", "a [big] car")]
    [InlineData("forklift [blue] (forklift, 0.2)", "forklift [blue]")]
    [InlineData("forklift", "forklift")]
    public void BracketsInsideAText_StayWords(string line, string search)
    {
        var parsed = Assert.Single(PromptGrammar.Parse(line).Lines);

        Assert.False(parsed.IsExample);
        Assert.Equal(search, parsed.SearchText);
    }

    [Theory]
    [InlineData("[forklift", "does not close")]
    [InlineData("[forklift (forklift, 0.5)", "does not close")]
    [InlineData("[forklift] extra (forklift)", "unexpected text \"extra\"")]
    [InlineData("[forklift] extra", "unexpected text \"extra\"")]
    [InlineData("[] (forklift)", "empty example label")]
    [InlineData("[ ]", "empty example label")]
    [InlineData("[[forklift]]", "nests brackets")]
    [InlineData("[forklift] (forklift, 2)", "out of range")]
    public void AMalformedExampleLine_NamesTheLine(string line, string problem)
    {
        var (lines, errors) = PromptGrammar.Parse("dog\n" + line);

        Assert.Single(lines);
        var error = Assert.Single(errors);
        Assert.Equal(2, error.LineNumber);
        Assert.Contains(problem, error.Problem, StringComparison.Ordinal);
        Assert.Contains("prompt line 2", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ExampleAndTextLines_MixFreely_AndShareLabels()
    {
        var prompt = LabelingPrompt.Parse("forklift (forklift, 0.3)\n[forklift] (forklift, 0.6)\n\n[pallet]\nperson");

        Assert.Equal(["forklift", "pallet", "person"], prompt.Labels);
        Assert.Equal([false, true, true, false], prompt.Lines.Select(l => l.IsExample));
        Assert.Equal([1, 2, 4, 5], prompt.Lines.Select(l => l.LineNumber));
    }

    [Fact]
    public void AnExampleLine_IsNotCountedInTokens()
    {
        // The text encoder never reads it, so no token limit applies (a counter that fails the test if asked).
        var (lines, errors) = PromptGrammar.Parse("[a very long label name indeed that goes on]", _ => throw new InvalidOperationException("counted"), 3);

        Assert.Empty(errors);
        Assert.True(Assert.Single(lines).IsExample);
    }
}
