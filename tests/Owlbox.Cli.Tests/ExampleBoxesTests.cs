using System.Text;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Cli.Tests;

/// <summary><see cref="ExampleBoxes.Gather"/> streams the labels file (issue 27): the example boxes wherever they are in
/// it, a pending journal's writes counted, an invalid entry anywhere refused naming the file and the field.</summary>
public sealed class ExampleBoxesTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("owlbox-example-boxes-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string LabelsPath => Path.Combine(_folder, LabelsFile.FileName);

    /// <summary>Image files as the listing sees them (the gathering reads no pixels).</summary>
    private void Images(params string[] names)
    {
        foreach (var name in names)
        {
            File.WriteAllBytes(Path.Combine(_folder, name), [0xFF, 0xD8]);
        }
    }

    private static string Box(string label, int x, double? score = null) =>
        $"{{\"label\": \"{label}\", \"x\": {x}, \"y\": 1, \"width\": 10, \"height\": 10{(score is { } s ? $", \"score\": {s}" : "")}}}";

    private static (string, string, int, int, int, int)[] Of(JobExamples examples) =>
        [.. examples.Boxes.Select(b => (b.SampleId, b.Label, b.X, b.Y, b.Width, b.Height))];

    [Fact]
    public void ExampleBoxes_SpreadOverManySamples_AreGatheredInFileOrder_PassingOverEverythingElse()
    {
        Images("first.jpg", "middle.jpg", "last.png");
        // 3,000 entries that hold no example: other labels, a detector's scored "cat", empty arrays, metadata only. None
        // is an image here, so gathering any of them would be refused.
        var boxes = new StringBuilder();
        var metadata = new StringBuilder();
        boxes.Append($"\"first.jpg\": [{Box("cat", 1)}, {Box("dog", 2)}]");
        for (var i = 0; i < 3000; i++)
        {
            boxes.Append($",\n\"other-{i}.jpg\": {(i % 3) switch { 0 => $"[{Box("dog", i)}]", 1 => $"[{Box("cat", i, score: 0.9)}]", _ => "[]" }}");
            metadata.Append($"{(i == 0 ? "" : ",")}\n\"meta-only-{i}.jpg\": {{\"by\": \"hand\"}}");
            if (i == 1500)
            {
                boxes.Append($",\n\"middle.jpg\": [{Box("bird", 3)}, {Box("cat", 4, score: 0.5)}, {Box("cat", 5)}]");
            }
        }
        boxes.Append($",\n\"last.png\": [{Box("bird", 6)}]");
        File.WriteAllText(LabelsPath, $"{{\"version\": 1, \"type\": \"bounding-box-labels\", \"boundingBoxes\": {{{boxes}}}, \"metadata\": {{{metadata}}}}}");

        var examples = ExampleBoxes.Gather("[cat]\n[bird]\nhorse", _folder);

        Assert.NotNull(examples);
        Assert.Equal(new DatasetReference("local", _folder), examples.Dataset);
        Assert.Equal(
            [("first.jpg", "cat", 1, 1, 10, 10), ("middle.jpg", "bird", 3, 1, 10, 10), ("middle.jpg", "cat", 5, 1, 10, 10), ("last.png", "bird", 6, 1, 10, 10)],
            Of(examples));
    }

    /// <summary>What a review click or a killed run journaled is the dataset's labels too: a box drawn there is an
    /// example, one deleted there is not (the labels file alone says otherwise until the fold).</summary>
    [Fact]
    public async Task APendingJournal_IsFoldedFirst_SoItsDrawnBoxIsAnExample_AndItsDeletedOneIsNot()
    {
        Images("a.jpg", "b.jpg");
        File.WriteAllText(LabelsPath, $"{{\"version\": 1, \"type\": \"bounding-box-labels\", \"boundingBoxes\": {{\"a.jpg\": [{Box("cat", 1)}]}}}}");
        var backend = new LocalDatasetBackend(_folder);
        await backend.UpdateLabelsAsync([LabelUpdate.ReplaceBoxes("a.jpg", []), LabelUpdate.ReplaceBoxes("b.jpg", [new LabeledBox("cat", 7, 8, 9, 10)])],
            CancellationToken.None);
        Assert.True(LabelJournal.HasPending(_folder), "the writes wait in the journal, not in the labels file");

        var examples = ExampleBoxes.Gather("[cat]", _folder);

        Assert.NotNull(examples);
        Assert.Equal([("b.jpg", "cat", 7, 8, 9, 10)], Of(examples));
        Assert.False(LabelJournal.HasPending(_folder));
        Assert.Empty(LabelsFile.Load(LabelsPath).GetBoxes("a.jpg")); // folded, not lost
    }

    public static TheoryData<string, string> InvalidEntries => new()
    {
        // An entry that holds no example, after the examples: the whole file is still checked.
        { $"\"z.jpg\": [{{\"label\": \"dog\", \"y\": 1, \"width\": 10, \"height\": 10}}]", "boundingBoxes[\"z.jpg\"][0]: \"x\" must be a number" },
        { $"\"z.jpg\": [{Box("dog", 1)}], \"a.jpg\": []", "boundingBoxes[\"a.jpg\"] appears twice" },
        { "\"z.jpg\": {\"label\": \"dog\"}", "boundingBoxes[\"z.jpg\"] must be an array" },
    };

    [Theory]
    [MemberData(nameof(InvalidEntries))]
    public void AnInvalidEntryAnywhere_IsRefused_NamingTheFileAndTheField(string entry, string problem)
    {
        Images("a.jpg");
        File.WriteAllText(LabelsPath, $"{{\"version\": 1, \"type\": \"bounding-box-labels\", \"boundingBoxes\": {{\"a.jpg\": [{Box("cat", 1)}], {entry}}}}}");

        var e = Assert.Throws<DatasetException>(() => ExampleBoxes.Gather("[cat]", _folder));

        Assert.Contains(LabelsPath, e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BrokenJson_IsRefused_NamingTheFile()
    {
        Images("a.jpg");
        File.WriteAllText(LabelsPath, $"{{\"version\": 1, \"type\": \"bounding-box-labels\", \"boundingBoxes\": {{\"a.jpg\": [{Box("cat", 1)}], \"b.jpg\": [");

        var e = Assert.Throws<DatasetException>(() => ExampleBoxes.Gather("[cat]", _folder));

        Assert.Contains(LabelsPath, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NoLabelsFile_NamesTheExampleLine()
    {
        Images("a.jpg");

        var e = Assert.Throws<JobSetupException>(() => ExampleBoxes.Gather("dog\n[cat]", _folder));

        Assert.Contains("prompt line 2 \"[cat]\": no box labelled 'cat'", e.Message, StringComparison.Ordinal);
    }
}
