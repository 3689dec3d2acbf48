using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Tests;

/// <summary>The journal's record format and its merge of a record into a sample that changed since.</summary>
public sealed class LabelJournalTests
{
    private static readonly LabeledBox Cat = new("cat", 0, 0, 5, 5);
    private static readonly LabeledBox Dog = new("dog", 0, 0, 5, 5);

    private static SampleLabels L(params LabeledBox[] boxes) => new(boxes, new Dictionary<string, string>());

    private static SampleLabels L(string meta, params LabeledBox[] boxes) => new(boxes, new Dictionary<string, string> { ["by"] = meta });

    public static TheoryData<string, SampleLabels, SampleLabels, SampleLabels, SampleLabels> Merges => new()
    {
        // name, before, after, current, expected
        { "unchanged since: the record's result", L(Cat), L(Cat, Dog), L(Cat), L(Cat, Dog) },
        { "already folded: stays", L(Cat), L(Cat, Dog), L(Cat, Dog), L(Cat, Dog) },
        { "a box added by hand since is kept", L(Cat), L(Cat, Dog), L(Cat, Cat), L(Cat, Cat, Dog) },
        { "a box the record added, removed by hand? the count differs: theirs", L(Cat, Dog), L(Dog), L(Dog), L(Dog) },
        { "a box removed by hand since is not put back", L(Cat, Dog), L(Cat, Dog, Dog), L(Dog), L(Dog, Dog) },
        { "one of two removed by the record", L(Cat, Cat), L(Cat), L("x", Cat, Cat), L("x", Cat) },
        { "metadata: the record's where unchanged since", L("a", Cat), L("job", Cat), L("a", Cat, Dog), L("job", Cat, Dog) },
        { "metadata removed by hand since stays removed", L("a", Cat), L("job", Cat), L(Cat, Dog), L(Cat, Dog) },
        { "metadata changed by hand since stays", L("a", Cat), L("job", Cat, Dog), L("hand", Cat), L("hand", Cat, Dog) },
    };

    [Theory]
    [MemberData(nameof(Merges))]
    public void Merge_TakesTheRecordWhereTheSampleIsAsItFoundIt(string name, SampleLabels before, SampleLabels after, SampleLabels current, SampleLabels expected)
    {
        var merged = LabelJournal.Merge(before, after, current);
        Assert.True(merged.Boxes.Order(Comparer).SequenceEqual(expected.Boxes.Order(Comparer)) && SampleLabels.SameMetadata(merged.Metadata, expected.Metadata),
            $"{name}: got [{string.Join(" ", merged.Boxes.Select(b => b.Label))}] {string.Join(",", merged.Metadata)}");
    }

    private static readonly IComparer<LabeledBox> Comparer = Comparer<LabeledBox>.Create((a, b) => string.CompareOrdinal(a.Label, b.Label));

    [Fact]
    public void Records_RoundTrip_AndATornOrDamagedRecordEndsTheJournal()
    {
        JournaledSample[] samples = [new("a.jpg", L(Cat), L("job", Cat, Dog))];
        var line = LabelJournal.FormatRecord(1, samples);
        var parsed = LabelJournal.ParseRecord(line.AsSpan(0, line.Length - 1), 1);
        Assert.NotNull(parsed);
        Assert.Equal("a.jpg", parsed[0].Id);
        Assert.True(parsed[0].After.SameAs(samples[0].After));
        Assert.Null(LabelJournal.ParseRecord(line.AsSpan(0, line.Length - 5), 1)); // torn
        Assert.Null(LabelJournal.ParseRecord(line.AsSpan(0, line.Length - 1), 2)); // out of sequence
        var damaged = line.ToArray();
        damaged[^3] ^= 1;
        Assert.Null(LabelJournal.ParseRecord(damaged.AsSpan(0, damaged.Length - 1), 1)); // checksum
    }

    [Fact]
    public async Task AJobsWrites_AreJournaledNotRewritten_AndFoldedAtItsEnd()
    {
        using var dataset = new TempDataset("a.jpg");
        var backend = new LocalDatasetBackend(dataset.Directory);
        var labels = dataset.LabelsPath;
        await backend.UpdateLabelsAsync([LabelUpdate.ReplaceBoxes("a.jpg", [Cat])], CancellationToken.None);
        Assert.False(File.Exists(labels)); // the batch cost a journal record, not a rewrite
        var again = await backend.UpdateLabelsAsync([LabelUpdate.ReplaceBoxes("a.jpg", [Cat])], CancellationToken.None);
        Assert.Empty(again.Changes); // redelivered: a no-op, nothing journaled twice
        Assert.Single(LabelJournal.Read(dataset.Directory, out _));
        await backend.FlushAsync(CancellationToken.None);
        Assert.Equal([Cat], LabelsFile.Load(labels).GetBoxes("a.jpg"));
        Assert.False(LabelJournal.HasPending(dataset.Directory));
    }
}
