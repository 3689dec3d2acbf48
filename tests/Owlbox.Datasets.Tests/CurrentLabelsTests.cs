using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Tests;

/// <summary><see cref="CurrentLabels.Boxes"/>: one streamed pass keeping only the samples and boxes asked for.</summary>
public sealed class CurrentLabelsTests
{
    private const string Labels = """
        {"version": 1, "type": "bounding-box-labels",
         "boundingBoxes": {
           "c.jpg": [{"label": "cat", "x": 1, "y": 1, "width": 5, "height": 5}, {"label": "dog", "x": 2, "y": 2, "width": 5, "height": 5, "score": 0.7}],
           "empty.jpg": [],
           "a.jpg": [{"label": "dog", "x": 3, "y": 3, "width": 5, "height": 5}],
           "b.jpg": [{"label": "cat", "x": 4, "y": 4, "width": 5, "height": 5, "score": 0.9}]
         },
         "metadata": {"meta-only.jpg": {"by": "hand"}, "a.jpg": {"by": "hand"}}}
        """;

    public static TheoryData<string, string[]?, string?, string> Reads => new()
    {
        // name, samples wanted (null: all), label kept (null: all), expected "sample: labels; ..." in file order
        { "everything: metadata-only and empty samples left out", null, null, "c.jpg: cat dog; a.jpg: dog; b.jpg: cat" },
        { "the samples named", ["b.jpg", "a.jpg", "meta-only.jpg", "absent.jpg"], null, "a.jpg: dog; b.jpg: cat" },
        { "the boxes kept", null, "cat", "c.jpg: cat; b.jpg: cat" },
        { "both", ["a.jpg", "c.jpg"], "dog", "c.jpg: dog; a.jpg: dog" },
        { "nothing kept", ["empty.jpg", "meta-only.jpg"], null, "" },
    };

    [Theory]
    [MemberData(nameof(Reads))]
    public void KeepsOnlyTheSamplesAndBoxesAskedFor_InFileOrder(string name, string[]? samples, string? label, string expected)
    {
        using var dataset = new TempDataset();
        File.WriteAllText(dataset.LabelsPath, Labels);

        var read = CurrentLabels.Boxes(dataset.Directory, samples is null ? null : samples.Contains,
            label is null ? null : (LabeledBox b) => b.Label == label);

        Assert.True(expected == Show(read), $"{name}: {Show(read)}");
    }

    [Fact]
    public void NoLabelsFile_HasNoBoxes()
    {
        using var dataset = new TempDataset("a.jpg");

        Assert.Empty(CurrentLabels.Boxes(dataset.Directory, null));
    }

    private static string Show(IReadOnlyDictionary<string, IReadOnlyList<LabeledBox>> read) =>
        string.Join("; ", read.Select(kv => $"{kv.Key}: {string.Join(" ", kv.Value.Select(b => b.Label))}"));
}
