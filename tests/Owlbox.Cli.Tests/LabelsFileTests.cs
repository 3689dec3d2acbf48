using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Cli.Tests;

/// <summary>The streaming rewrite (writer and proposal apply) keeps everything Owlbox does not own, in a stable layout.</summary>
public sealed class LabelsFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("owlbox-labels-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Existing = """
        {"version": 1, "type": "bounding-box-labels", "extra": {"kept": [1, 2]},
         "boundingBoxes": {"a.jpg": [{"label": "cup", "x": 1, "y": 2, "width": 3, "height": 4, "note": "x"}],
                           "b.jpg": [{"label": "dog", "x": 5, "y": 6, "width": 7, "height": 8}]},
         "metadata": {"a.jpg": {"k": "v"}}}
        """;

    private static readonly LabelWrite[] s_writes =
    [
        new("b.jpg", new SampleLabels([new LabeledBox("cat", 9, 9, 10, 10)], new Dictionary<string, string> { ["z"] = "1", ["a"] = "é" })),
        new("c.jpg", new SampleLabels([], new Dictionary<string, string>())),
        new("b.jpg", new SampleLabels([new LabeledBox("cat", 1, 1, 2, 2)], new Dictionary<string, string> { ["m"] = "last wins" })),
    ];

    [Fact]
    public void Rewrite_ReplacesTheBatchSamples_KeepsEverythingElse_LastWriteWins()
    {
        var path = Path.Combine(_dir, LabelsFile.FileName);
        File.WriteAllText(path, Existing);

        LabelsFile.Rewrite(path, s_writes);

        // The layout the object model wrote before the streaming rewrite replaced it (checked equal then).
        Assert.Equal(""""
{
  "version": 1,
  "type": "bounding-box-labels",
  "extra": {
    "kept": [
      1,
      2
    ]
  },
  "boundingBoxes": {
    "a.jpg": [
      {
        "label": "cup",
        "x": 1,
        "y": 2,
        "width": 3,
        "height": 4,
        "note": "x"
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
    "c.jpg": []
  },
  "metadata": {
    "a.jpg": {
      "k": "v"
    },
    "b.jpg": {
      "m": "last wins"
    },
    "c.jpg": {}
  }
}
"""" + "\n", File.ReadAllText(path));
        Assert.Equal([new LabeledBox("cat", 1, 1, 2, 2)], LabelsFile.Load(path).GetBoxes("b.jpg"));
    }

    [Fact]
    public void Rewrite_NoFileYet_WritesANewOne()
    {
        var path = Path.Combine(_dir, LabelsFile.FileName);

        LabelsFile.Rewrite(path, s_writes);

        Assert.Equal(""""
{
  "version": 1,
  "type": "bounding-box-labels",
  "boundingBoxes": {
    "b.jpg": [
      {
        "label": "cat",
        "x": 1,
        "y": 1,
        "width": 2,
        "height": 2
      }
    ],
    "c.jpg": []
  },
  "metadata": {
    "b.jpg": {
      "m": "last wins"
    },
    "c.jpg": {}
  }
}
"""" + "\n", File.ReadAllText(path));
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
