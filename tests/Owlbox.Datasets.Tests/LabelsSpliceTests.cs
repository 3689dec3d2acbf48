using System.Text;
using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Tests;

/// <summary>A labels update splices the new version from the old one (<see cref="LabelsSplice"/>): every byte outside the
/// changed entries stays as it was, what is written follows the layout around it, and a file in Owlbox's own layout
/// comes out exactly as rewriting it whole did.</summary>
public sealed class LabelsSpliceTests : IDisposable
{
    private readonly TempDataset _dataset = new();

    public void Dispose() => _dataset.Dispose();

    /// <summary>b.jpg (already there) gets one box and a metadata key; n.jpg (new) gets nothing, written as empty entries.</summary>
    private static readonly LabelWrite[] s_writes =
    [
        new("b.jpg", new SampleLabels([new LabeledBox("cat", 1, 1, 2, 2)], new Dictionary<string, string> { ["m"] = "v" })),
        new("n.jpg", new SampleLabels([], new Dictionary<string, string>())),
    ];

    public static TheoryData<string, string, string> Files => new()
    {
        {
            "Owlbox's own layout: the bytes rewriting it whole gave",
            """
            {
              "version": 1,
              "type": "bounding-box-labels",
              "boundingBoxes": {
                "a.jpg": [
                  {
                    "label": "cup",
                    "x": 1,
                    "y": 2,
                    "width": 3,
                    "height": 4
                  }
                ],
                "b.jpg": []
              },
              "metadata": {
                "a.jpg": {
                  "k": "v"
                }
              }
            }

            """,
            """
            {
              "version": 1,
              "type": "bounding-box-labels",
              "boundingBoxes": {
                "a.jpg": [
                  {
                    "label": "cup",
                    "x": 1,
                    "y": 2,
                    "width": 3,
                    "height": 4
                  }
                ],
                "b.jpg": [
                  {
                    "label": "cat",
                    "x": 1,
                    "y": 1,
                    "width": 2,
                    "height": 2
                  }
                ],
                "n.jpg": []
              },
              "metadata": {
                "a.jpg": {
                  "k": "v"
                },
                "b.jpg": {
                  "m": "v"
                },
                "n.jpg": {}
              }
            }

            """
        },
        {
            "one line: written on one line, the metadata section added",
            """{"version":1,"type":"bounding-box-labels","boundingBoxes":{"a.jpg":[{"label":"cup","x":1.0,"y":2,"width":3,"height":4}],"b.jpg":[]}}""",
            """{"version":1,"type":"bounding-box-labels","boundingBoxes":{"a.jpg":[{"label":"cup","x":1.0,"y":2,"width":3,"height":4}],"b.jpg":[{"label":"cat","x":1,"y":1,"width":2,"height":2}],"n.jpg":[]},"metadata":{"b.jpg":{"m":"v"},"n.jpg":{}}}"""
        },
        {
            "empty sections, spaces around: the new entries one level deeper than the section's name",
            "{\"version\": 1, \"type\": \"bounding-box-labels\",\n \"boundingBoxes\": { },\n \"metadata\": {}\n}\n",
            "{\"version\": 1, \"type\": \"bounding-box-labels\",\n \"boundingBoxes\": {\n   \"b.jpg\": [\n     {\n       \"label\": \"cat\",\n       \"x\": 1,\n       \"y\": 1,\n       \"width\": 2,\n       \"height\": 2\n     }\n   ],\n   \"n.jpg\": []\n },\n \"metadata\": {\n   \"b.jpg\": {\n     \"m\": \"v\"\n   },\n   \"n.jpg\": {}\n }\n}\n"
        },
        {
            "CRLF and tabs, one entry a line, no metadata: CRLF kept, indented as the neighbour",
            "{\r\n\t\"version\": 1,\r\n\t\"type\": \"bounding-box-labels\",\r\n\t\"boundingBoxes\": {\r\n\t\t\"b.jpg\": [{\"label\": \"dog\", \"x\": 5, \"y\": 6, \"width\": 7, \"height\": 8}],\r\n\t\t\"a.jpg\": []\r\n\t}\r\n}",
            "{\r\n\t\"version\": 1,\r\n\t\"type\": \"bounding-box-labels\",\r\n\t\"boundingBoxes\": {\r\n\t\t\"b.jpg\": [\r\n\t\t  {\r\n\t\t    \"label\": \"cat\",\r\n\t\t    \"x\": 1,\r\n\t\t    \"y\": 1,\r\n\t\t    \"width\": 2,\r\n\t\t    \"height\": 2\r\n\t\t  }\r\n\t\t],\r\n\t\t\"a.jpg\": [],\r\n\t\t\"n.jpg\": []\r\n\t},\r\n\t\"metadata\": {\r\n\t  \"b.jpg\": {\r\n\t    \"m\": \"v\"\r\n\t  },\r\n\t  \"n.jpg\": {}\r\n\t}\r\n}"
        },
        {
            "escaped names, other members after the sections, metadata first: all kept as they were",
            "{\"metadata\": {\"b.jpg\": {\"old\": \"x\"}}, \"version\": 1, \"boundingBoxes\": {\"caf\\u00e9.jpg\": [], \"b.jpg\": [{\"label\": \"dog\", \"x\": 5, \"y\": 6, \"width\": 7, \"height\": 8, \"note\": [1, 2.50]}]}, \"type\": \"bounding-box-labels\", \"extra\": {\"k\": [1, 2]}}",
            "{\"metadata\": {\"b.jpg\": {\"m\":\"v\"},\"n.jpg\":{}}, \"version\": 1, \"boundingBoxes\": {\"caf\\u00e9.jpg\": [], \"b.jpg\": [{\"label\":\"cat\",\"x\":1,\"y\":1,\"width\":2,\"height\":2}], \"n.jpg\":[]}, \"type\": \"bounding-box-labels\", \"extra\": {\"k\": [1, 2]}}"
        },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void AnUpdate_ChangesOnlyTheChangedEntries_InTheFilesLayout(string why, string before, string after)
    {
        File.WriteAllText(_dataset.LabelsPath, before);
        LabelsFile.Check(_dataset.LabelsPath); // as a job's setup does: the file checked and indexed

        LabelsFile.Rewrite(_dataset.LabelsPath, s_writes);

        Assert.True(after == File.ReadAllText(_dataset.LabelsPath), $"{why}:\n{File.ReadAllText(_dataset.LabelsPath)}");
        var labels = LabelsFile.Load(_dataset.LabelsPath);
        Assert.Equal([new LabeledBox("cat", 1, 1, 2, 2)], labels.GetBoxes("b.jpg"));
        Assert.Equal("v", labels.GetMetadata("b.jpg")!["m"]);
        Assert.Empty(labels.GetBoxes("n.jpg"));

        // The new version's index was kept, moved by the splice: what indexing the new file gives, no pass needed.
        var kept = LabelsIndex.KeptFor(_dataset.LabelsPath);
        Assert.NotNull(kept);
        Assert.Equal(LabelsIndex.Build(_dataset.LabelsPath)!.Layout, kept.Layout);
        string[] ids = ["a.jpg", "b.jpg", "n.jpg", "café.jpg", "missing.jpg"];
        Assert.Equal(LabelsReader.ReadFile(_dataset.LabelsPath, ids.Contains).Select(Describe), kept.Read(ids, _dataset.LabelsPath)!.Select(Describe));

        // And the next update splices at its offsets.
        LabelsFile.Rewrite(_dataset.LabelsPath, [new("n.jpg", new SampleLabels([new LabeledBox("dog", 3, 3, 3, 3)], new Dictionary<string, string> { ["k"] = "w" })),
            new("z.jpg", new SampleLabels([new LabeledBox("cow", 4, 4, 4, 4)], new Dictionary<string, string>()))]);
        labels = LabelsFile.Load(_dataset.LabelsPath);
        Assert.Equal([new LabeledBox("cat", 1, 1, 2, 2)], labels.GetBoxes("b.jpg"));
        Assert.Equal([new LabeledBox("dog", 3, 3, 3, 3)], labels.GetBoxes("n.jpg"));
        Assert.Equal("w", labels.GetMetadata("n.jpg")!["k"]);
        Assert.Equal([new LabeledBox("cow", 4, 4, 4, 4)], labels.GetBoxes("z.jpg"));
        Assert.Equal(LabelsIndex.Build(_dataset.LabelsPath)!.Layout, LabelsIndex.KeptFor(_dataset.LabelsPath)!.Layout);
    }

    private static string Describe(LabelsEntry e) =>
        $"{e.SampleId} {(e.Boxes is null ? "-" : string.Join(";", e.Boxes))} {(e.Metadata is null ? "-" : string.Join(";", e.Metadata))}";

    [Fact]
    public void AByteOrderMark_StaysAndTheOffsetsCountIt()
    {
        var text = "{\"version\": 1, \"type\": \"bounding-box-labels\", \"boundingBoxes\": {\"a.jpg\": [], \"b.jpg\": []}, \"metadata\": {}}";
        File.WriteAllBytes(_dataset.LabelsPath, [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(text)]);
        LabelsFile.Check(_dataset.LabelsPath);

        LabelsFile.Rewrite(_dataset.LabelsPath, s_writes);

        Assert.Equal(
            [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(
                "{\"version\": 1, \"type\": \"bounding-box-labels\", \"boundingBoxes\": {\"a.jpg\": [], \"b.jpg\": [{\"label\":\"cat\",\"x\":1,\"y\":1,\"width\":2,\"height\":2}], \"n.jpg\":[]}, \"metadata\": {\"b.jpg\":{\"m\":\"v\"},\"n.jpg\":{}}}")],
            File.ReadAllBytes(_dataset.LabelsPath));
    }
    /// <summary>A save the file's stamp does not show (written in place, same length, its time put back, as cp -p or
    /// rsync -t can leave it): the index's offsets now lead to other entries. An entry found at an offset that names
    /// another sample is not taken for "the sample is not in the file" (it would be appended, a second entry for it).</summary>
    [Fact]
    public void ASaveTheStampMissed_WhoseEntriesMoved_IsNotSplicedIntoADoubledEntry()
    {
        const string Head = "{\"version\": 1, \"type\": \"bounding-box-labels\", \"boundingBoxes\": {";
        File.WriteAllText(_dataset.LabelsPath, Head + "\"b.jpg\": [], \"cc.jpg\": []}}");
        LabelsFile.Check(_dataset.LabelsPath);
        var written = File.GetLastWriteTimeUtc(_dataset.LabelsPath);
        using (var inPlace = new FileStream(_dataset.LabelsPath, FileMode.Open, FileAccess.Write))
        {
            inPlace.Write(Encoding.UTF8.GetBytes(Head + "\"cc.jpg\": [], \"b.jpg\": []}}")); // the same length
        }
        File.SetLastWriteTimeUtc(_dataset.LabelsPath, written);

        LabelsFile.Rewrite(_dataset.LabelsPath, [new("b.jpg", new SampleLabels([new LabeledBox("cat", 1, 1, 2, 2)], new Dictionary<string, string>()))]);

        var labels = LabelsFile.Load(_dataset.LabelsPath); // refuses a sample listed twice
        Assert.Equal([new LabeledBox("cat", 1, 1, 2, 2)], labels.GetBoxes("b.jpg"));
        Assert.Empty(labels.GetBoxes("cc.jpg"));
    }
}
