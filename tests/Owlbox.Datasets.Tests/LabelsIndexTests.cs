using System.Text;
using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Tests;

/// <summary>The labels file's index (sample → where its entry starts): a writer's batch reads its samples there, and only
/// while the file is the version indexed.</summary>
public sealed class LabelsIndexTests : IDisposable
{
    private readonly TempDataset _dataset = new();

    public void Dispose() => _dataset.Dispose();

    private static string Box(int x) => $$"""{"label": "cat", "x": {{x}}, "y": 2, "width": 3, "height": 4}""";

    private static string Labels(params (string Id, int X)[] entries) =>
        """{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {"""
        + string.Join(", ", entries.Select(e => $"\"{e.Id}\": [{Box(e.X)}]")) + "}}";

    private static (string Id, string Boxes, string Metadata) Describe(LabelsEntry e) =>
        (e.SampleId,
         e.Boxes is null ? "-" : string.Join(";", e.Boxes.Select(b => $"{b.Label} {b.X} {b.Y} {b.Width} {b.Height} {b.Score}")),
         e.Metadata is null ? "-" : string.Join(";", e.Metadata.Select(m => $"{m.Key}={m.Value}")));

    [Fact]
    public void EntriesReadByOffset_EqualTheStreamedOnes()
    {
        var bom = Encoding.UTF8.GetPreamble();
        var json = """
            {"note": {"boundingBoxes": {"x.jpg": []}}, "version": 1, "type": "bounding-box-labels",
             "metadata": {"b.jpg": {"site": "north", "n": 12}, "caf\u00e9.jpg": {"k": null}},
             "boundingBoxes": {
              "a.jpg": [{"label": "cat", "x": 1, "y": 2.5, "width": 3, "height": 4, "score": 0.5, "attributes": {"k": [1]}}],
              "q\"uote.jpg": [],
              "caf\u00e9.jpg": [{"label": "d\u00f6g", "x": 0, "y": 0, "width": 9, "height": 9}, {"label": "cat", "x": 5, "y": 5, "width": 1, "height": 1}],
              "last.jpg": [{"label": "cat", "x": 7, "y": 7, "width": 7, "height": 7}]}}
            """;
        File.WriteAllBytes(_dataset.LabelsPath, [.. bom, .. Encoding.UTF8.GetBytes(json)]);
        string[] ids = ["last.jpg", "a.jpg", "café.jpg", "q\"uote.jpg", "b.jpg", "missing.jpg", "x.jpg"];

        var index = LabelsIndex.Build(_dataset.LabelsPath)!;
        var byOffset = index.Read(ids, _dataset.LabelsPath)!;
        var streamed = LabelsReader.ReadFile(_dataset.LabelsPath, ids.Contains).ToArray();

        Assert.Equal(6, index.Count); // 4 box entries, 2 metadata entries; the note's inner object is no entry
        Assert.Equal(streamed.Select(Describe), byOffset.Select(Describe));
        Assert.Equal(["b.jpg", "café.jpg", "a.jpg", "q\"uote.jpg", "café.jpg", "last.jpg"], byOffset.Select(e => e.SampleId));
    }

    [Fact]
    public void AHandEditAfterIndexing_MakesTheIndexStale_AndItIsNotUsed()
    {
        File.WriteAllText(_dataset.LabelsPath, Labels(("a.jpg", 1), ("b.jpg", 2)));
        var index = LabelsIndex.Build(_dataset.LabelsPath)!;
        Assert.True(index.IsCurrent);

        // An editor's save: a box moved, which moves every entry after it.
        File.WriteAllText(_dataset.LabelsPath, Labels(("a.jpg", 100), ("b.jpg", 20)));

        Assert.False(index.IsCurrent);
        Assert.Null(index.Read(["a.jpg", "b.jpg"], _dataset.LabelsPath));
        var read = LabelsFile.Read(_dataset.LabelsPath, ["a.jpg", "b.jpg"]);
        Assert.Equal(100, read["a.jpg"].Boxes.Single().X);
        Assert.Equal(20, read["b.jpg"].Boxes.Single().X);
    }

    [Fact]
    public void ASampleAddedAfterIndexing_IsFound()
    {
        File.WriteAllText(_dataset.LabelsPath, Labels(("a.jpg", 1)));
        LabelsFile.Check(_dataset.LabelsPath); // the setup check indexes the file for this process
        Assert.Equal(1, LabelsFile.Read(_dataset.LabelsPath, ["a.jpg"])["a.jpg"].Boxes.Single().X);

        // By hand, ahead of the entry the index knows: the new sample is in no index yet, and a.jpg moved.
        File.WriteAllText(_dataset.LabelsPath, Labels(("new.jpg", 5), ("a.jpg", 1)));
        var read = LabelsFile.Read(_dataset.LabelsPath, ["new.jpg", "a.jpg"]);
        Assert.Equal(5, read["new.jpg"].Boxes.Single().X);
        Assert.Equal(1, read["a.jpg"].Boxes.Single().X);

        // By Owlbox's own writer: a new version too.
        LabelsFile.Rewrite(_dataset.LabelsPath, [new LabelWrite("later.jpg", new SampleLabels([new LabeledBox("dog", 1, 1, 2, 2)], new Dictionary<string, string>()))]);
        Assert.Equal("dog", LabelsFile.Read(_dataset.LabelsPath, ["later.jpg"])["later.jpg"].Boxes.Single().Label);
    }

    [Fact]
    public void ASampleTwiceInTheFile_IsNotReadByTheIndex_TheScanNamesIt()
    {
        File.WriteAllText(_dataset.LabelsPath, Labels(("a.jpg", 1), ("a.jpg", 2)));
        var index = LabelsIndex.Build(_dataset.LabelsPath)!; // names only: a duplicate is the check's to find

        Assert.Null(index.Read(["a.jpg"], _dataset.LabelsPath));
        var error = Assert.Throws<DatasetException>(() => LabelsFile.Read(_dataset.LabelsPath, ["a.jpg"]));
        Assert.Contains("boundingBoxes[\"a.jpg\"] appears twice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFileOfManySamples_IsReadAtTheBatchsEntries_AsTheScanReadsThem()
    {
        using (var w = new StreamWriter(_dataset.LabelsPath))
        {
            w.Write("""{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {""");
            for (var i = 0; i < 20_000; i++)
            {
                w.Write($"{(i == 0 ? "" : ",")}\n\"s{i:D6}.jpg\": [{Box(i % 300)}]");
            }
            w.Write("}}\n");
        }
        var batch = new[] { "s000000.jpg", "s012345.jpg", "s019999.jpg", "none.jpg" };

        var index = LabelsIndex.Build(_dataset.LabelsPath)!;

        Assert.Equal(20_000, index.Count);
        Assert.Equal(LabelsReader.ReadFile(_dataset.LabelsPath, batch.Contains).Select(Describe), index.Read(batch, _dataset.LabelsPath)!.Select(Describe));
    }
}
