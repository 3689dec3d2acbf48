using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Policies;

namespace Owlbox.Labeling.Tests.Policies;

public class LabelMergeTests
{
    private static readonly LabeledBox[] s_existing = [new("person", 1, 1, 5, 5), new("cup", 10, 10, 5, 5)];
    private static readonly LabeledBox[] s_new = [new("cup", 20, 20, 6, 6)];
    private static readonly HashSet<string> s_promptLabels = ["cup"];

    [Fact]
    public void Merge_No_KeepsExistingThenAddsNew()
    {
        var merged = LabelMerge.Merge(s_existing, s_new, s_promptLabels, DeleteExistingPolicy.No);

        Assert.Equal([s_existing[0], s_existing[1], s_new[0]], merged);
    }

    [Fact]
    public void Merge_MatchingPrompt_DropsOnlyExistingBoxesWithPromptLabels()
    {
        var merged = LabelMerge.Merge(s_existing, s_new, s_promptLabels, DeleteExistingPolicy.MatchingPrompt);

        Assert.Equal([s_existing[0], s_new[0]], merged);
    }

    [Fact]
    public void Merge_Yes_KeepsOnlyNewBoxes()
    {
        Assert.Equal(s_new, LabelMerge.Merge(s_existing, s_new, s_promptLabels, DeleteExistingPolicy.Yes));
    }

    [Fact]
    public void Merge_AppliedTwiceToTheSameSnapshot_GivesTheSameList()
    {
        // A retry or checkpoint rewrite re-applies the policy to the pre-job snapshot, never to its own output.
        var first = LabelMerge.Merge(s_existing, s_new, s_promptLabels, DeleteExistingPolicy.No);
        var second = LabelMerge.Merge(s_existing, s_new, s_promptLabels, DeleteExistingPolicy.No);

        Assert.Equal(first, second);
        Assert.Equal(3, second.Count);
    }

    [Theory]
    [InlineData("no", DeleteExistingPolicy.No)]
    [InlineData("matching-prompt", DeleteExistingPolicy.MatchingPrompt)]
    [InlineData("yes", DeleteExistingPolicy.Yes)]
    public void PolicyNames_RoundTrip(string text, DeleteExistingPolicy policy)
    {
        Assert.True(DeleteExistingPolicyNames.TryParse(text, out var parsed));
        Assert.Equal(policy, parsed);
        Assert.Equal(text, parsed.ToArgument());
    }

    [Theory]
    [InlineData("No")]
    [InlineData("true")]
    [InlineData("")]
    public void PolicyNames_RejectOtherValues(string text) => Assert.False(DeleteExistingPolicyNames.TryParse(text, out _));

    [Fact]
    public void Metadata_MergesOverExistingKeys()
    {
        var merged = LabelingMetadata.Merge(new Dictionary<string, string> { ["site"] = "a", ["prompt"] = "old" }, "owlv2", "google/owlv2-base-patch16-ensemble", "cup (cup)");

        Assert.Equal("a", merged["site"]);
        Assert.Equal("cup (cup)", merged["prompt"]);
        Assert.Equal("owlv2", merged["labeled_by"]);
        Assert.Equal("google/owlv2-base-patch16-ensemble", merged["labeled_by_model"]);
    }
}
