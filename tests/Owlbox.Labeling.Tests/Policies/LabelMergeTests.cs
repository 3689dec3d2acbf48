using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Policies;

namespace Owlbox.Labeling.Tests.Policies;

public class LabelMergeTests
{
    private static readonly LabeledBox s_person = new("person", 1, 1, 5, 5);
    private static readonly LabeledBox s_oldCup = new("cup", 10, 10, 5, 5);
    private static readonly LabeledBox s_newCup = new("cup", 20, 20, 6, 6);
    private static readonly HashSet<string> s_promptLabels = ["cup"];

    public static TheoryData<string, DeleteExistingPolicy, LabeledBox[], LabeledBox[], LabeledBox[]> Cases => new()
    {
        { "no keeps existing then adds new", DeleteExistingPolicy.No, [s_person, s_oldCup], [s_newCup], [s_person, s_oldCup, s_newCup] },
        { "matching-prompt drops prompt labels only", DeleteExistingPolicy.MatchingPrompt, [s_person, s_oldCup], [s_newCup], [s_person, s_newCup] },
        { "yes keeps only new", DeleteExistingPolicy.Yes, [s_person, s_oldCup], [s_newCup], [s_newCup] },
        { "no: an identical box is not added again", DeleteExistingPolicy.No, [s_person, s_newCup], [s_newCup], [s_person, s_newCup] },
        { "yes: an identical box stays in place", DeleteExistingPolicy.Yes, [s_newCup, s_person], [s_newCup], [s_newCup] },
        { "matching-prompt: identical box stays once", DeleteExistingPolicy.MatchingPrompt, [s_newCup, s_person, s_newCup], [s_newCup], [s_newCup, s_person] },
        { "no: the user's own duplicates are theirs", DeleteExistingPolicy.No, [s_person, s_person], [], [s_person, s_person] },
        { "duplicates among new boxes collapse", DeleteExistingPolicy.No, [], [s_newCup, s_newCup], [s_newCup] },
        { "same label, other geometry is a new box", DeleteExistingPolicy.No, [s_oldCup], [s_oldCup with { X = 11 }], [s_oldCup, s_oldCup with { X = 11 }] },
        { "other label, same geometry is a new box", DeleteExistingPolicy.No, [s_oldCup], [s_oldCup with { Label = "mug" }], [s_oldCup, s_oldCup with { Label = "mug" }] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Merge(string because, DeleteExistingPolicy policy, LabeledBox[] current, LabeledBox[] added, LabeledBox[] expected)
    {
        Assert.True(expected.SequenceEqual(LabelMerge.Merge(current, added, s_promptLabels, policy)), because);
    }

    [Theory]
    [InlineData(DeleteExistingPolicy.MatchingPrompt)]
    [InlineData(DeleteExistingPolicy.Yes)]
    public void AnExampleBox_SurvivesEveryPolicy_OtherBoxesOfItsLabelDoNot(DeleteExistingPolicy policy)
    {
        var example = s_oldCup with { X = 30 };

        var merged = LabelMerge.Merge([s_oldCup, example], [s_newCup], s_promptLabels, policy, kept: [example]);

        Assert.Equal([example, s_newCup], merged);
    }

    [Theory]
    [InlineData(DeleteExistingPolicy.No)]
    [InlineData(DeleteExistingPolicy.MatchingPrompt)]
    [InlineData(DeleteExistingPolicy.Yes)]
    public void Merge_OfItsOwnOutput_IsANoOp(DeleteExistingPolicy policy)
    {
        // A redelivered result, or a re-run, merges into what the first write left.
        LabeledBox[] added = [s_newCup, new("cup", 40, 40, 4, 4)];
        var once = LabelMerge.Merge([s_person, s_oldCup], added, s_promptLabels, policy);
        var twice = LabelMerge.Merge(once, added, s_promptLabels, policy);

        Assert.Equal(once, twice);
    }

    [Fact]
    public void Merge_TwoJobsOnOneSample_Compose()
    {
        var afterRed = LabelMerge.Merge([s_person], [new("red", 1, 2, 3, 4)], ["red"], DeleteExistingPolicy.MatchingPrompt);
        var afterBlue = LabelMerge.Merge(afterRed, [new("blue", 5, 6, 7, 8)], ["blue"], DeleteExistingPolicy.MatchingPrompt);

        Assert.Equal([s_person, new("red", 1, 2, 3, 4), new("blue", 5, 6, 7, 8)], afterBlue);
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
