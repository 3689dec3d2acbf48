using Owlbox.Contracts.V1;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Pipeline.Tests;

/// <summary>Which boxes are a <c>[label]</c> line's examples: the ones a person drew. A box a detector wrote carries
/// its score; were it an example, a job killed mid-run and folded (by an export, say) would find its own detections
/// as queries on the re-run, take it for another job and add a second set of boxes.</summary>
public class ExampleGatheringTests
{
    private static readonly DatasetReference s_dataset = new("local", "/d");

    [Fact]
    public void HandDrawnBoxes_AreExamples_DetectorWrittenOnesAreNot()
    {
        var (lines, _) = PromptGrammar.Parse("[thing] (thing, 0.5)");
        var hand = new LabeledBox("thing", 1, 2, 30, 40);
        var detected = new LabeledBox("thing", 5, 6, 30, 40) { Score = 0.91 };
        var other = new LabeledBox("other", 1, 2, 30, 40);

        var (examples, errors) = ExampleGathering.Collect(lines, s_dataset, [("a.png", [hand, detected, other])], "the dataset");

        Assert.Empty(errors);
        Assert.Equal([new ExampleBox("a.png", "thing", 1, 2, 30, 40)], examples!.Boxes);
    }

    [Fact]
    public void ALabelWithOnlyDetectorWrittenBoxes_HasNoExample_AndItsLineIsNamed()
    {
        var (lines, _) = PromptGrammar.Parse("red (red, 0.2)\n[thing] (thing, 0.5)");
        var detected = new LabeledBox("thing", 5, 6, 30, 40) { Score = 0.91 };

        var (examples, errors) = ExampleGathering.Collect(lines, s_dataset, [("a.png", [detected])], "the dataset");

        Assert.Empty(examples!.Boxes);
        Assert.Contains(errors, e => e.Contains("line 2", StringComparison.Ordinal));
    }
}
