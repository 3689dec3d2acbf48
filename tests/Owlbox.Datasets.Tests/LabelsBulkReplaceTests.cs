using System.Text;
using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Tests;

/// <summary>An import's streamed write (issue 27) writes the bytes an update a sample
/// (<see cref="LabelUpdate.ReplaceBoxes"/> through <see cref="LabelsFile.Update"/>) writes: the import's merge with the
/// labels already there is unchanged, only its memory is.</summary>
public sealed class LabelsBulkReplaceTests
{
    private const string Head = """{"version": 1, "type": "bounding-box-labels", """;

    private static readonly LabeledBox s_a = new("cat", 1, 2, 3, 4);
    private static readonly LabeledBox s_b = new("dog", 5, 6, 7, 8) { Score = 0.25 };

    /// <summary>The labels file already there (null: none), by name.</summary>
    public static readonly TheoryData<string, string?> Files = new()
    {
        { "no file", null },
        { "empty", Head + """ "boundingBoxes": {}}""" },
        { "other samples, extra keys kept", Head + """ "boundingBoxes": {"z.jpg": [{"label": "cat", "x": 1.0, "y": 2, "width": 3, "height": 4, "attributes": {"k": 1}}]}, "extra": [1, 2]}""" },
        { "the same boxes, own JSON", Head + """ "boundingBoxes": {"a.jpg": [{"label": "cat", "x": 1, "y": 2, "width": 3, "height": 4, "note": "mine"}], "b.jpg": []}}""" },
        { "other boxes replaced", Head + """ "boundingBoxes": {"a.jpg": [{"label": "cow", "x": 9, "y": 9, "width": 9, "height": 9}], "c.jpg": [{"label": "cat", "x": 1, "y": 2, "width": 3, "height": 4}]}}""" },
        { "a box reordered, kept JSON", Head + """ "boundingBoxes": {"a.jpg": [{"label": "dog", "x": 5, "y": 6, "width": 7, "height": 8, "score": 0.25, "q": true}, {"label": "cat", "x": 1, "y": 2, "width": 3, "height": 4}]}}""" },
        { "metadata first, numbers as text", Head + """ "metadata": {"a.jpg": {"n": 5, "s": "x"}, "b.jpg": {"t": true}}, "boundingBoxes": {"a.jpg": []}}""" },
        { "metadata only, no boxes entry", Head + """ "boundingBoxes": {}, "metadata": {"b.jpg": {"k": "v"}, "c.jpg": {"k": "w"}}}""" },
        { "byte-order mark", "\uFEFF" + Head + """ "boundingBoxes": {"b.jpg": [{"label": "cat", "x": 1, "y": 2, "width": 3, "height": 4}]}}""" },
    };

    /// <summary>The imports tried on each file: a sample's boxes replaced, emptied, left the same.</summary>
    private static readonly (string, IReadOnlyList<LabeledBox>)[][] s_imports =
    [
        [("a.jpg", [s_a]), ("b.jpg", [])],
        [("b.jpg", [s_b, s_a]), ("a.jpg", [s_a, s_b]), ("c.jpg", [s_a])],
        [("c.jpg", []), ("d.jpg", [s_b])],
        [("a.jpg", [])],
    ];

    [Theory]
    [MemberData(nameof(Files))]
    public void Replace_WritesWhatAnUpdateOfEachSampleWrites(string name, string? existing)
    {
        foreach (var import in s_imports)
        {
            using var byUpdates = new TempDataset();
            using var bulk = new TempDataset();
            if (existing is not null)
            {
                File.WriteAllText(byUpdates.LabelsPath, existing, new UTF8Encoding(false));
                File.WriteAllText(bulk.LabelsPath, existing, new UTF8Encoding(false));
            }

            var changes = LabelsFile.Update(byUpdates.LabelsPath, import.Select(s => LabelUpdate.ReplaceBoxes(s.Item1, s.Item2)).ToArray());
            var written = LabelsBulkReplace.Replace(bulk.LabelsPath, import);

            Assert.Equal(File.Exists(byUpdates.LabelsPath), File.Exists(bulk.LabelsPath));
            if (File.Exists(byUpdates.LabelsPath))
            {
                // The same JSON: entries, keys and number text in the same order. The layout may differ: an update
                // splices its entries into the file's own layout (LabelsSplice), the import rewrites the file whole.
                var expected = Normalised(byUpdates.LabelsPath);
                var actual = Normalised(bulk.LabelsPath);
                Assert.True(expected == actual, $"{name}, import of {string.Join(", ", import.Select(s => s.Item1))}:\n{expected}\n---\n{actual}");
            }
            Assert.Equal(changes.Count, written);
        }
    }

    /// <summary>The file's JSON written again in one layout (order, keys and number text as they are; a BOM is kept as
    /// a mark), so two files that differ only in whitespace compare equal.</summary>
    private static string Normalised(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var bom = bytes.AsSpan().StartsWith("\uFEFF"u8);
        using var json = System.Text.Json.JsonDocument.Parse(bom ? bytes.AsMemory(3) : bytes);
        using var buffer = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(buffer, new System.Text.Json.JsonWriterOptions { Indented = true }))
        {
            json.RootElement.WriteTo(w);
        }
        return (bom ? "(BOM)" : "") + Encoding.UTF8.GetString(buffer.ToArray());
    }

    [Fact]
    public void Replace_OfWhatTheFileHolds_WritesNothing()
    {
        using var dataset = new TempDataset();
        var text = Head + """ "boundingBoxes": {"a.jpg": [{"label": "cat", "x": 1, "y": 2, "width": 3, "height": 4}]}, "metadata": {"b.jpg": {}}}""";
        File.WriteAllText(dataset.LabelsPath, text);
        var before = File.GetLastWriteTimeUtc(dataset.LabelsPath);

        Assert.Equal(0, LabelsBulkReplace.Replace(dataset.LabelsPath, [("a.jpg", [s_a]), ("b.jpg", [])]));

        Assert.Equal(text, File.ReadAllText(dataset.LabelsPath));
        Assert.Equal(before, File.GetLastWriteTimeUtc(dataset.LabelsPath));
    }

    [Fact]
    public void Replace_OfAnInvalidFile_NamesItsFieldAndLeavesItAsItWas()
    {
        using var dataset = new TempDataset();
        var text = Head + """ "boundingBoxes": {"a.jpg": [{"label": "cat", "x": "one", "y": 2, "width": 3, "height": 4}], "b.jpg": 3}}""";
        File.WriteAllText(dataset.LabelsPath, text);

        var e = Assert.Throws<DatasetException>(() => LabelsBulkReplace.Replace(dataset.LabelsPath, [("a.jpg", [s_b])]));

        Assert.Contains("boundingBoxes[\"a.jpg\"][0]: \"x\" must be a number", e.Message, StringComparison.Ordinal);
        Assert.Equal(text, File.ReadAllText(dataset.LabelsPath));
    }
}
