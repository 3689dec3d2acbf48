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

    [Fact]
    public void Rewrite_LargeFile_LongTokensAndOddNumbers_StreamThroughUnchanged()
    {
        var path = Path.Combine(_dir, LabelsFile.FileName);
        var longText = string.Concat(Enumerable.Repeat("a\"b\\c\u00e9\n", 30_000)); // 150k chars, escapes: longer than the read buffer
        var original = new System.Text.Json.Nodes.JsonObject
        {
            ["version"] = 1,
            ["type"] = "bounding-box-labels",
            ["extra"] = longText,
            ["boundingBoxes"] = new System.Text.Json.Nodes.JsonObject(Enumerable.Range(0, 3000).Select(i => KeyValuePair.Create<string, System.Text.Json.Nodes.JsonNode?>(
                $"s{i}.jpg", new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["label"] = $"l{i}", ["x"] = i, ["y"] = 0, ["width"] = 1, ["height"] = 2 })))),
        };
        File.WriteAllText(path, original.ToJsonString().Replace("\"height\":2}]}", "\"height\":2,\"ratio\":1.50,\"big\":1e3,\"neg\":-0}]}", StringComparison.Ordinal));

        LabelsFile.Rewrite(path, [new("s7.jpg", new SampleLabels([new LabeledBox("cat", 1, 2, 3, 4)], new Dictionary<string, string>()))]);

        var text = File.ReadAllText(path);
        var rewritten = System.Text.Json.Nodes.JsonNode.Parse(text)!;
        Assert.Equal(longText, rewritten["extra"]!.GetValue<string>());
        Assert.Equal(3000, rewritten["boundingBoxes"]!.AsObject().Count);
        Assert.Equal("l2999", rewritten["boundingBoxes"]!["s2999.jpg"]![0]!["label"]!.GetValue<string>());
        Assert.Equal([new LabeledBox("cat", 1, 2, 3, 4)], LabelsFile.Load(path).GetBoxes("s7.jpg"));
        Assert.Contains("\"ratio\": 1.50,", text, StringComparison.Ordinal); // numbers keep their own text
        Assert.Contains("\"big\": 1e3,", text, StringComparison.Ordinal);
        Assert.Contains("\"neg\": -0", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"version": 1, "type": "bounding-box-labels"}""", "\"boundingBoxes\" must be an object")]
    [InlineData("""{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {}, "metadata": []}""", "\"metadata\" must be an object")]
    [InlineData("""{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {"a.jpg": [""", "is not valid JSON")]
    [InlineData("""[1]""", "must be a JSON object")]
    [InlineData("""{"type": "bounding-box-labels", "version": 1.0, "boundingBoxes": {}}""", "\"version\" must be 1")]
    public void Rewrite_BrokenFile_IsRefusedWithTheReason_AndLeftAsItWas(string content, string reason)
    {
        var path = Path.Combine(_dir, LabelsFile.FileName);
        File.WriteAllText(path, content);

        var e = Assert.Throws<DatasetException>(() => LabelsFile.Rewrite(path, [new("a.jpg", new SampleLabels([], new Dictionary<string, string>()))]));

        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.Equal(content, File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(_dir)); // no temporary file left behind
    }
}
