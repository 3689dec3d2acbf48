using Owlbox.Cli;
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

    /// <summary><see cref="Existing"/> in Owlbox's own layout (what its writer gives).</summary>
    private const string ExistingInOwlboxLayout = """
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
                "label": "dog",
                "x": 5,
                "y": 6,
                "width": 7,
                "height": 8
              }
            ]
          },
          "metadata": {
            "a.jpg": {
              "k": "v"
            }
          }
        }

        """;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Rewrite_ReplacesTheBatchSamples_KeepsEverythingElse_LastWriteWins(bool checkedFirst)
    {
        var path = Path.Combine(_dir, LabelsFile.FileName);
        File.WriteAllText(path, ExistingInOwlboxLayout);
        if (checkedFirst)
        {
            LabelsFile.Check(path); // a job's setup: the update splices at the offsets the check noted
        }

        LabelsFile.Rewrite(path, s_writes);

        // The layout the object model wrote before the streaming rewrite replaced it (checked equal then); the splice
        // that replaced the streaming rewrite gives the same bytes on a file in that layout. (Files in other layouts
        // keep theirs: LabelsSpliceTests.)
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
        Assert.Contains("\"ratio\":1.50,", text, StringComparison.Ordinal); // numbers keep their own text (and the file its layout)
        Assert.Contains("\"big\":1e3,", text, StringComparison.Ordinal);
        Assert.Contains("\"neg\":-0", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Update_AnEditorSavingBetweenTheReadAndTheRename_KeepsTheSave()
    {
        var path = Path.Combine(_dir, LabelsFile.FileName);
        File.WriteAllText(path, Existing);
        var runs = 0;

        LabelsFile.Update(path, [new("b.jpg", current =>
        {
            if (runs++ == 0)
            {
                // An editor that does not take Owlbox's lock saves the file while the update is being made.
                File.WriteAllText(path, Existing.Replace("\"dog\"", "\"dog-edited\"", StringComparison.Ordinal));
            }
            return current with { Boxes = [.. current.Boxes, new LabeledBox("cat", 9, 9, 10, 10)] };
        })]);

        Assert.Equal(2, runs);
        Assert.Equal(["dog-edited", "cat"], LabelsFile.Load(path).GetBoxes("b.jpg").Select(b => b.Label));
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

/// <summary>The labels file as the user left it, through a real labeling run; odd files stop the job at setup.</summary>
public sealed class LabelsFileAsTheUserLeftItTests : IDisposable
{
    private readonly Workspace _ws = new();

    public void Dispose() => _ws.Dispose();

    private const string UsersFile = """
        {
          "version": 1,
          "type": "bounding-box-labels",
          "boundingBoxes": {
            "labeled-600x400.jpg": [
              {"label": "Kaffeetasse ☕ 咖啡 𠮷", "x": 400, "y": 40, "width": 120, "height": 200, "score": 0.950, "attributes": {"occluded": true}}
            ]
          },
          "metadata": {"labeled-600x400.jpg": {"site": "Zürich 🏔"}}
        }
        """;

    private Task<(int Exit, string Out, string Err)> LabelAsync() =>
        Workspace.RunAsync("label", _ws.Dataset, "--model", Workspace.Owlv2Model, "--prompt", "red\nblue", "--execution-provider", "cpu");

    [Fact]
    public async Task KeptBoxes_KeepTheirKeysAndNumbers_TextStaysUnescaped()
    {
        File.WriteAllText(_ws.LabelsPath, UsersFile);

        var (exit, _, _) = await LabelAsync();

        Assert.Equal(OwlboxCli.Ok, exit);
        var text = File.ReadAllText(_ws.LabelsPath);
        Assert.Contains("\"label\": \"Kaffeetasse ☕ 咖啡 𠮷\"", text, StringComparison.Ordinal);
        Assert.Contains("\"score\": 0.950", text, StringComparison.Ordinal);
        Assert.Contains("\"occluded\": true", text, StringComparison.Ordinal);
        Assert.Contains("{\"site\":\"Zürich 🏔\",", text, StringComparison.Ordinal); // the one-line metadata section stays one line
        Assert.DoesNotContain("\\u", text, StringComparison.Ordinal);
        Assert.Equal(["Kaffeetasse ☕ 咖啡 𠮷", "blue"], _ws.Boxes("labeled-600x400.jpg").Select(b => b.Label).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AByteOrderMark_StaysAndTheJobWrites()
    {
        File.WriteAllBytes(_ws.LabelsPath, [0xEF, 0xBB, 0xBF, .. System.Text.Encoding.UTF8.GetBytes(UsersFile)]);

        var (exit, _, _) = await LabelAsync();

        Assert.Equal(OwlboxCli.Ok, exit);
        Assert.Equal([0xEF, 0xBB, 0xBF], File.ReadAllBytes(_ws.LabelsPath)[..3]);
        Assert.Equal(2, _ws.Boxes("wide-640x360.jpg").Count);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task ASymbolicLink_IsWrittenThrough_AndPermissionsStay()
    {
        var target = Path.Combine(_ws.Root, "kept-elsewhere.labels");
        File.WriteAllText(target, UsersFile);
        File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        File.Delete(_ws.LabelsPath);
        File.CreateSymbolicLink(_ws.LabelsPath, target);

        var (exit, _, _) = await LabelAsync();

        Assert.Equal(OwlboxCli.Ok, exit);
        Assert.Equal(target, new FileInfo(_ws.LabelsPath).LinkTarget);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(target));
        Assert.Equal(2, LabelsFile.Load(target).GetBoxes("wide-640x360.jpg").Count);
    }

    [Theory]
    [InlineData("""{"version": 1.5, "type": "bounding-box-labels", "boundingBoxes": {}}""", "\"version\" must be 1")]
    [InlineData("""{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {"a.jpg": []}, "boundingBoxes": {}}""", "is not valid JSON")]
    [InlineData("""{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {"a.jpg": [], "a.jpg": []}}""", "is not valid JSON")]
    [InlineData("""{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {}, "metadata": []}""", "\"metadata\" must be an object")]
    [InlineData("""{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {}, "metadata": {"a.jpg": {"k": {"deep": 1}}}}""", "must be a string")]
    [InlineData("""{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {"a.jpg": [{"label": "x", "x": 1e99, "y": 0, "width": 1, "height": 1}]}}""", "out of range")]
    [InlineData("""{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {"a.jpg": [{"label": "x", "x": 1e400, "y": 0, "width": 1, "height": 1}]}}""", "out of range")]
    [InlineData("""{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {"a.jpg": [{"label": "x", "x": 2147483000, "y": 0, "width": 2000, "height": 1}]}}""", "right or bottom edge")]
    public async Task OddFiles_StopTheJobAtSetup_WithTheReason_AndStayAsTheyWere(string content, string reason)
    {
        File.WriteAllText(_ws.LabelsPath, content);

        var (exit, output, err) = await LabelAsync();

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains(reason, err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal); // no stack trace
        Assert.DoesNotContain("Labeling ", output, StringComparison.Ordinal);
        Assert.Equal(content, File.ReadAllText(_ws.LabelsPath));
    }

    [Fact]
    public async Task ADanglingSymbolicLink_StopsTheJobAtSetup()
    {
        File.Delete(_ws.LabelsPath);
        File.CreateSymbolicLink(_ws.LabelsPath, Path.Combine(_ws.Root, "gone.labels"));

        var (exit, _, err) = await LabelAsync();

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains("which does not exist", err, StringComparison.Ordinal);
        Assert.NotNull(new FileInfo(_ws.LabelsPath).LinkTarget);
        Assert.False(File.Exists(Path.Combine(_ws.Root, "gone.labels")));
    }

    [SkippableFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task AReadOnlyDataset_StopsAtSetup()
    {
        // chmod is enough for a user; root writes anyway, so it gets an immutable folder (chattr) where that works.
        File.SetUnixFileMode(_ws.Dataset, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        var immutable = Environment.UserName == "root" && Run("chattr", "+i", _ws.Dataset);
        try
        {
            Skip.If(Writable(_ws.Dataset), "cannot make a folder read-only here (root without chattr)");

            var (exit, output, err) = await LabelAsync();

            Assert.Equal(OwlboxCli.SetupError, exit);
            Assert.Contains("is not writable", err, StringComparison.Ordinal);
            Assert.DoesNotContain("Labeling ", output, StringComparison.Ordinal);
        }
        finally
        {
            if (immutable)
            {
                Run("chattr", "-i", _ws.Dataset);
            }
            File.SetUnixFileMode(_ws.Dataset, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static bool Run(string program, params string[] args)
    {
        try
        {
            using var p = System.Diagnostics.Process.Start(program, args);
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // not installed
        }
    }

    private static bool Writable(string folder)
    {
        try
        {
            File.Create(Path.Combine(folder, ".probe"), 1, FileOptions.DeleteOnClose).Dispose();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    [Fact]
    public async Task ADatasetThatIsAFile_OrMissing_StopsAtSetup_AndNothingIsCreated()
    {
        var missing = Path.Combine(_ws.Root, "no-such-folder");

        var (fileExit, _, fileErr) = await Workspace.RunAsync("label", _ws.LabelsPath, "--model", Workspace.Owlv2Model, "--prompt", "red");
        var (missingExit, _, missingErr) = await Workspace.RunAsync("label", missing, "--model", Workspace.Owlv2Model, "--prompt", "red");

        Assert.Equal((OwlboxCli.SetupError, OwlboxCli.SetupError), (fileExit, missingExit));
        Assert.Contains("is a file", fileErr, StringComparison.Ordinal);
        Assert.Contains("does not exist", missingErr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));
    }
}
