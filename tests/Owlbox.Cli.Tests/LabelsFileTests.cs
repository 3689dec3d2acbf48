using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Cli.Tests;

/// <summary>The writer's streaming rewrite must write exactly what loading the file, setting entries and saving it
/// writes, keeping everything Owlbox does not own.</summary>
public sealed class LabelsFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("owlbox-labels-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Rewrite_WritesWhatTheObjectModelWrites(bool fileExists)
    {
        const string existing = """
            {"version": 1, "type": "bounding-box-labels", "extra": {"kept": [1, 2]},
             "boundingBoxes": {"a.jpg": [{"label": "cup", "x": 1, "y": 2, "width": 3, "height": 4, "note": "x"}],
                               "b.jpg": [{"label": "dog", "x": 5, "y": 6, "width": 7, "height": 8}]},
             "metadata": {"a.jpg": {"k": "v"}}}
            """;
        var viaObjects = Path.Combine(_dir, "objects.labels");
        var viaStream = Path.Combine(_dir, "stream.labels");
        if (fileExists)
        {
            File.WriteAllText(viaObjects, existing);
            File.WriteAllText(viaStream, existing);
        }
        LabelWrite[] writes =
        [
            new("b.jpg", new SampleLabels([new LabeledBox("cat", 9, 9, 10, 10)], new Dictionary<string, string> { ["z"] = "1", ["a"] = "é\"" })),
            new("c.jpg", new SampleLabels([], new Dictionary<string, string>())),
            new("b.jpg", new SampleLabels([new LabeledBox("cat", 1, 1, 2, 2)], new Dictionary<string, string> { ["m"] = "last wins" })),
        ];

        var labels = LabelsFile.Load(viaObjects);
        foreach (var w in writes)
        {
            labels.SetBoxes(w.SampleId, w.Labels.Boxes);
            labels.SetMetadata(w.SampleId, w.Labels.Metadata);
        }
        labels.Save(viaObjects);
        LabelsFile.Rewrite(viaStream, writes);

        Assert.Equal(File.ReadAllText(viaObjects), File.ReadAllText(viaStream));
        var reread = LabelsFile.Load(viaStream);
        Assert.Equal([new LabeledBox("cat", 1, 1, 2, 2)], reread.GetBoxes("b.jpg"));
        Assert.Equal(fileExists ? 1 : 0, reread.GetBoxes("a.jpg").Count);
    }

    [Fact]
    public void Rewrite_InvalidFile_IsRefusedAndLeftAsItWas()
    {
        var path = Path.Combine(_dir, LabelsFile.FileName);
        File.WriteAllText(path, """{"version": 2, "type": "bounding-box-labels", "boundingBoxes": {}}""");

        var e = Assert.Throws<DatasetException>(() => LabelsFile.Rewrite(path, [new("a.jpg", new SampleLabels([], new Dictionary<string, string>()))]));

        Assert.Contains("\"version\" must be 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("\"version\": 2", File.ReadAllText(path), StringComparison.Ordinal);
    }
}
