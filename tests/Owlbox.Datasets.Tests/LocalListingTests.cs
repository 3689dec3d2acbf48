using Owlbox.Datasets.Local;

namespace Owlbox.Datasets.Tests;

/// <summary>Listing a folder's samples for a job reads names only; the labels file is checked once, at submission,
/// streamed.</summary>
public sealed class LocalListingTests : IDisposable
{
    private readonly TempDataset _ds = new("a.jpg", "b.png");

    public void Dispose() => _ds.Dispose();

    [Fact]
    public async Task Select_ListsTheImages_WithoutReadingTheLabelsFile()
    {
        File.WriteAllText(_ds.LabelsPath, """{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {"a.jpg": [{"label": 5}]}}""");
        var backend = new LocalDatasetBackend(_ds.Directory);

        var selection = await backend.SelectAsync(null, default);

        Assert.Equal(["a.jpg", "b.png"], selection.Found);
        var e = await Assert.ThrowsAsync<DatasetException>(() => backend.CheckLabelsAsync(default));
        Assert.Equal($"{_ds.LabelsPath}: boundingBoxes[\"a.jpg\"][0] must be an object with a string \"label\"", e.Message);
    }

    [Fact]
    public void Open_ChecksTheWholeFile_AndLoadReadsIt()
    {
        File.WriteAllText(_ds.LabelsPath, """
            {"version": 1, "type": "bounding-box-labels", "boundingBoxes": {"gone.jpg": [{"label": "cat", "x": 0, "y": 0, "width": 1, "height": 1}]},
             "metadata": {"a.jpg": {"k": "v"}}, "metadata": {}}
            """);

        Assert.Contains("\"metadata\" appears twice", Assert.Throws<DatasetException>(() => LocalDataset.Open(_ds.Directory)).Message, StringComparison.Ordinal);

        File.WriteAllText(_ds.LabelsPath, """
            {"version": 1, "type": "bounding-box-labels", "boundingBoxes": {"gone.jpg": [{"label": "cat", "x": 0, "y": 0, "width": 1, "height": 1}]},
             "metadata": {"a.jpg": {"k": "v"}}}
            """);
        var labels = LocalDataset.Open(_ds.Directory).ReadLabels();

        Assert.Equal("cat", Assert.Single(labels.GetBoxes("gone.jpg")).Label);
        Assert.Equal("v", labels.GetMetadata("a.jpg")!["k"]);
        Assert.Empty(labels.GetBoxes("a.jpg"));
        Assert.Null(labels.GetMetadata("b.png"));
    }
}
