using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Tests;

/// <summary>What a write reports it changed, and what an undo of it puts back, box by box.</summary>
public sealed class SampleChangeTests
{
    private static readonly LabeledBox A = new("cat", 0, 0, 5, 5);
    private static readonly LabeledBox B = new("dog", 10, 0, 5, 5);
    private static readonly LabeledBox C = new("cat", 20, 0, 5, 5);

    private static LabeledBox Box(char name) => name switch { 'A' => A, 'B' => B, _ => C };

    private static LabeledBox[] Boxes(string names) => names.Select(Box).ToArray();

    private static string Names(IEnumerable<LabeledBox> boxes) => string.Concat(boxes.Select(b => b == A ? 'A' : b == B ? 'B' : 'C'));

    private static SampleLabels Labels(string names) => new(Boxes(names), new Dictionary<string, string>());

    [Theory]
    [InlineData("", "A", "A", "")]
    [InlineData("A", "A", "", "")] // an add identical to a box there is no add
    [InlineData("AB", "BA", "", "")] // a reorder is neither
    [InlineData("AB", "B", "", "A")]
    [InlineData("AA", "A", "", "A")] // one of two identical boxes taken out
    [InlineData("A", "AA", "A", "")] // a second identical box added (an import, a hand edit)
    [InlineData("AB", "BC", "C", "A")]
    [InlineData("ABAB", "", "", "ABAB")]
    public void Between_ReportsTheBoxesActuallyAddedAndRemoved(string before, string after, string added, string removed)
    {
        var change = SampleChange.Between("x.jpg", Labels(before), Labels(after));

        Assert.Equal(added, Names(change.Added));
        Assert.Equal(removed, Names(change.Removed));
        Assert.Equal(removed, Names(change.RemovedAt.Select(i => Box(before[i])))); // where each stood
        Assert.Equal(added.Length + removed.Length > 0, change.ChangedBoxes);
        Assert.False(change.MetadataChanged);
    }

    [Fact]
    public void Between_KeepsTheScoreOfTheBoxAsWritten_AndSaysWhenMetadataChanged()
    {
        var scored = A with { Score = 0.7 };
        var change = SampleChange.Between("x.jpg", Labels(""),
            new SampleLabels([scored], new Dictionary<string, string> { ["labeled_by"] = "owlv2" }));

        Assert.Equal(0.7, Assert.Single(change.Added).Score);
        Assert.True(change.MetadataChanged);
    }

    [Theory]
    // before -> after the change, then the sample now -> after the undo
    [InlineData("", "A", "A", "")] // the added box taken out
    [InlineData("B", "BA", "BA", "B")]
    [InlineData("A", "A", "A", "A")] // the change added nothing (accepted a box the image had): nothing taken out
    [InlineData("", "A", "", "")] // someone removed it since: nothing to take
    [InlineData("", "A", "AA", "AA")] // someone added another since: theirs, left alone
    [InlineData("AB", "B", "B", "AB")] // the removed box put back in its place
    [InlineData("AB", "B", "BA", "BA")] // a job re-added it since: not doubled
    [InlineData("AAB", "AB", "AB", "AAB")] // one of two identical boxes removed, put back
    [InlineData("AB", "BC", "BCB", "ABB")] // box by box: C taken out, A put back, the B someone added kept
    [InlineData("AB", "BC", "B", "AB")] // C gone since, A put back
    public void Revert_UndoesTheChange_OnlyWhereTheSampleIsStillAsItLeftIt(string before, string after, string now, string undone)
    {
        var change = SampleChange.Between("x.jpg", Labels(before), Labels(after));

        Assert.Equal(undone, Names(change.Revert(Boxes(now))));
    }
}
