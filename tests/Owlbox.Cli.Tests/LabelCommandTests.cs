using MassTransit;
using Owlbox.Cli;
using Owlbox.Contracts.V1;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Cli.Tests;

public sealed class LabelCommandTests : IDisposable
{
    private readonly Workspace _ws = new();

    public void Dispose() => _ws.Dispose();

    [Fact]
    public async Task Label_BundledSamples_BoxesLandOnTheDrawnObjects()
    {
        var (exit, output, _) = await _ws.LabelAsync("--delete_existing_bounding_boxes", "matching-prompt");

        Assert.Equal(OwlboxCli.Ok, exit);
        foreach (var (file, truth) in Workspace.GroundTruth())
        {
            var written = _ws.Boxes(file).Where(b => b.Label != "person").ToList();
            Assert.Equal(truth.Count, written.Count);
            foreach (var t in truth)
            {
                var match = Assert.Single(written, w => w.Label == t.Label);
                Assert.True(match.Box.IoU(t.Box) >= 0.9, $"{file}: {t.Label} written {match.Box}, drawn {t.Box}");
            }
        }
        // matching-prompt kept the existing "person" box and replaced the stale "red" one.
        Assert.Contains(new LabeledBox("person", 400, 40, 120, 200), _ws.Boxes("labeled-600x400.jpg"));
        Assert.DoesNotContain(new LabeledBox("red", 10, 10, 50, 50), _ws.Boxes("labeled-600x400.jpg"));
        // Samples are printed as they finish, in the original Edge Impulse block's format.
        Assert.Matches(@"\[[1-6]/6\] Labeling busy-800x450\.jpg\.\.\. OK \(took \d+ ms\)", output);
        Assert.Contains("Labeled 6 of 6 samples", output, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_ws.Dataset, "*.tmp"));
    }

    [Fact]
    public async Task Label_WritesTheOriginalBlocksMetadata()
    {
        await _ws.LabelAsync();

        var meta = Owlbox.Datasets.Local.LabelsFile.Load(_ws.LabelsPath).GetMetadata("wide-640x360.jpg");

        Assert.NotNull(meta);
        Assert.Equal("owlv2", meta["labeled_by"]);
        Assert.Equal("owlbox/owlv2-colour-test", meta["labeled_by_model"]);
        Assert.Equal(File.ReadAllText(Workspace.PromptFile), meta["prompt"]);
    }

    [Fact]
    public async Task Label_TwiceWithMatchingPrompt_GivesTheSameLabels()
    {
        var (exit, _, _) = await _ws.LabelAsync("--delete_existing_bounding_boxes", "matching-prompt");
        var first = File.ReadAllText(_ws.LabelsPath);

        var (again, _, _) = await _ws.LabelAsync("--delete_existing_bounding_boxes", "matching-prompt");

        Assert.Equal((OwlboxCli.Ok, OwlboxCli.Ok), (exit, again));
        Assert.Equal(first, File.ReadAllText(_ws.LabelsPath));
    }

    [Fact]
    public async Task Label_TwiceWithNo_AddsNothingTheSecondTime()
    {
        // The original block stacks every box again on a re-run; Owlbox never adds a box identical to one the sample has.
        var (first, _, _) = await _ws.LabelAsync("--delete_existing_bounding_boxes", "no");
        var once = File.ReadAllText(_ws.LabelsPath);

        var (second, _, _) = await _ws.LabelAsync("--delete_existing_bounding_boxes", "no");

        Assert.Equal((OwlboxCli.Ok, OwlboxCli.Ok), (first, second));
        Assert.Equal(2, _ws.Boxes("wide-640x360.jpg").Count);
        Assert.Equal(once, File.ReadAllText(_ws.LabelsPath));
    }

    [Fact]
    public async Task Label_Yes_ClearsEveryExistingBox()
    {
        await _ws.LabelAsync("--delete_existing_bounding_boxes", "yes");

        Assert.Equal(["blue", "yellow"], _ws.Boxes("labeled-600x400.jpg").Select(b => b.Label).Order());
    }

    [Fact]
    public async Task Label_BadImages_FailOnlyThemselves_AndKeepTheirLabels()
    {
        var good = File.ReadAllBytes(Path.Combine(_ws.Dataset, "wide-640x360.jpg"));
        File.WriteAllBytes(Path.Combine(_ws.Dataset, "corrupt.jpg"), [0xFF, 0xD8, 0xFF, 0xE0, .. Enumerable.Repeat((byte)0x42, 500)]);
        File.WriteAllBytes(Path.Combine(_ws.Dataset, "truncated.jpg"), good[..(good.Length / 2)]);
        File.WriteAllBytes(Path.Combine(_ws.Dataset, "empty.png"), []);
        File.WriteAllText(Path.Combine(_ws.Dataset, "notes.png"), "not an image at all");
        File.WriteAllBytes(Path.Combine(_ws.Dataset, "huge.png"), Owlbox.ModelTool.PngWriter.DeclaringSize(60_000, 60_000));
        // A failing image that already had labels keeps them untouched.
        File.WriteAllText(_ws.LabelsPath, File.ReadAllText(_ws.LabelsPath).Replace("\"boundingBoxes\": {", "\"boundingBoxes\": {\n    \"truncated.jpg\": [{\"label\": \"keep\", \"x\": 1, \"y\": 2, \"width\": 3, \"height\": 4}],", StringComparison.Ordinal));

        var (exit, output, _) = await _ws.LabelAsync();

        Assert.Equal(OwlboxCli.SamplesFailed, exit);
        Assert.Contains("Labeled 6 of 11 samples", output, StringComparison.Ordinal);
        Assert.Contains("5 samples failed:", output, StringComparison.Ordinal);
        Assert.Matches(@"corrupt\.jpg: .*(corrupt|truncated|not a supported)", output);
        Assert.Contains("truncated.jpg: the image data is truncated or corrupt", output, StringComparison.Ordinal);
        Assert.Contains("empty.png: the file is empty", output, StringComparison.Ordinal);
        Assert.Contains("notes.png: not a supported image", output, StringComparison.Ordinal);
        Assert.Contains("huge.png: the image is 60000x60000", output, StringComparison.Ordinal);
        Assert.Equal([new LabeledBox("keep", 1, 2, 3, 4)], _ws.Boxes("truncated.jpg"));
        Assert.Equal(2, _ws.Boxes("wide-640x360.jpg").Count);
    }

    [Fact]
    public async Task Label_MalformedPrompt_IsRejectedBeforeAnyWork()
    {
        var before = File.ReadAllBytes(_ws.LabelsPath);

        var (exit, output, err) = await Workspace.RunAsync("label", _ws.Dataset, "--model", Workspace.Owlv2Model, "--prompt", "red (red, 0.5)\\nblue (blue, high)\\n(green, 0.2)");

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains("prompt line 2 \"blue (blue, high)\": min_confidence \"high\" is not a number", err, StringComparison.Ordinal);
        Assert.Contains("prompt line 3 \"(green, 0.2)\": empty search text", err, StringComparison.Ordinal);
        Assert.DoesNotContain("Labeling", output, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(_ws.LabelsPath));
    }

    [Fact]
    public async Task Label_PromptOverTheTokenLimit_IsRejectedNamingTheLine()
    {
        var longLine = string.Join(' ', Enumerable.Repeat("red", 15)) + " (red, 0.2)";

        var (exit, _, err) = await Workspace.RunAsync("label", _ws.Dataset, "--model", Workspace.Owlv2Model, "--prompt", $"blue\\n{longLine}");

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains("prompt line 2", err, StringComparison.Ordinal);
        Assert.Contains("17 tokens; the model reads at most 16", err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[\"wide-640x360.jpg\", \"tall-360x640\"]")]
    [InlineData("{\"ids\": [\"wide-640x360\", \"tall-360x640.png\"]}")]
    public async Task Label_DataIdsFile_LabelsOnlyThoseAndLeavesTheRestUntouched(string idsJson)
    {
        var ids = _ws.Write("ids.json", idsJson);
        var before = Owlbox.Datasets.Local.LabelsFile.Load(_ws.LabelsPath).GetBoxes("labeled-600x400.jpg");

        var (exit, output, _) = await _ws.LabelAsync("--data-ids-file", ids);

        Assert.Equal(OwlboxCli.Ok, exit);
        Assert.Contains("Labeled 2 of 2 samples", output, StringComparison.Ordinal);
        Assert.Equal(2, _ws.Boxes("wide-640x360.jpg").Count);
        Assert.Equal(2, _ws.Boxes("tall-360x640.png").Count);
        Assert.Empty(_ws.Boxes("busy-800x450.jpg"));
        Assert.Equal(before, _ws.Boxes("labeled-600x400.jpg"));
    }

    [Fact]
    public async Task Label_UnknownIds_AreReportedAsFailedSamples()
    {
        var ids = _ws.Write("ids.json", "[\"wide-640x360.jpg\", 12345]");

        var (exit, output, _) = await _ws.LabelAsync("--data-ids-file", ids);

        Assert.Equal(OwlboxCli.SamplesFailed, exit);
        Assert.Contains("12345: no image named '12345'", output, StringComparison.Ordinal);
        Assert.Equal(2, _ws.Boxes("wide-640x360.jpg").Count);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("{\"samples\": [1]}", "must hold a JSON array")]
    [InlineData("[1, {\"id\": 2}]", "entry 1")]
    public async Task Label_BadIdsFile_IsASetupError(string content, string message)
    {
        var ids = _ws.Write("ids.json", content);

        var (exit, _, err) = await _ws.LabelAsync("--data-ids-file", ids);

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains(message, err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Label_InvalidLabelsFile_IsNeverOverwritten()
    {
        File.WriteAllText(_ws.LabelsPath, "{\"version\": 1, \"type\": \"bounding-box-labels\", \"boundingBoxes\": {\"a.jpg\": [{\"label\": 5}]}}");
        var before = File.ReadAllBytes(_ws.LabelsPath);

        var (exit, _, err) = await _ws.LabelAsync();

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains("string \"label\"", err, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(_ws.LabelsPath));
    }

    [Theory]
    [InlineData(new[] { "--nms-iou-threshold", "2" }, "--nms-iou-threshold must be between 0 and 1")]
    [InlineData(new[] { "--delete_existing_bounding_boxes", "sometimes" }, "must be no, matching-prompt or yes")]
    [InlineData(new[] { "--ignore-objects-smaller-than", "abc" }, "must be a number")]
    [InlineData(new[] { "--frobnicate", "1" }, "unknown argument '--frobnicate'")]
    [InlineData(new[] { "--concurrent-runs", "0" }, "--concurrent-runs 1 or more")]
    [InlineData(new[] { "--propose-actions", "../../etc" }, "job id '../../etc' is invalid")]
    public async Task Label_BadOptions_AreSetupErrors(string[] extra, string message)
    {
        var (exit, _, err) = await _ws.LabelAsync(extra);

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains(message, err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Label_MissingModel_IsASetupError()
    {
        var (exit, _, err) = await Workspace.RunAsync("label", _ws.Dataset, "--model", Path.Combine(_ws.Root, "nope"), "--prompt", "red");

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains("does not exist", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Label_SizeFilterAndNmsOptions_AreApplied()
    {
        // In wide-640x360.jpg the red block is 3.7% of the image and the blue one 9.3%: a 5% floor keeps only blue.
        var (exit, output, _) = await _ws.LabelAsync("--ignore-objects-smaller-than", "5", "--no-nms");

        Assert.Equal(OwlboxCli.Ok, exit);
        // Without NMS each cell of an object reports the object's box: duplicates, all of one label, all printed...
        var found = output[output.IndexOf("Labeling wide-640x360.jpg", StringComparison.Ordinal)..].Split("[")[0];
        Assert.True(System.Text.RegularExpressions.Regex.Count(found, @"blue \(0\.\d+\)") > 2, found);
        Assert.DoesNotContain("red (", found, StringComparison.Ordinal);
        // ...but a box identical to one the sample has is never written twice.
        Assert.Equal("blue", Assert.Single(_ws.Boxes("wide-640x360.jpg")).Label);
    }

    [Fact]
    public async Task Label_Cancelled_ExitsWith130AndLeavesAValidLabelsFile()
    {
        var before = File.ReadAllBytes(_ws.LabelsPath);
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        var (exit, _, err) = await Workspace.RunAsync(cancel.Token, "label", _ws.Dataset, "--model", Workspace.Owlv2Model, "--prompt", "red");

        Assert.Equal(OwlboxCli.Cancelled, exit);
        Assert.Contains("cancelled", err, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(_ws.LabelsPath));
    }

    [Fact]
    public async Task Label_CancelledMidJob_OnADatasetLargerThanTheQueues_StopsPromptly_WithAValidLabelsFile()
    {
        // More samples than the one-process gates hold (64 queued, 32 fetched), so the expansion is still paging
        // when the job is cancelled: it must not keep the process from stopping.
        var image = File.ReadAllBytes(Path.Combine(_ws.Dataset, "busy-800x450.jpg"));
        for (var i = 0; i < 400; i++)
        {
            File.WriteAllBytes(Path.Combine(_ws.Dataset, $"copy-{i:D3}.jpg"), [.. image, .. BitConverter.GetBytes(i)]);
        }
        using var cancel = new CancellationTokenSource();
        var firstWritten = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void SignalFirstWrite(MassTransit.IBusRegistrationConfigurator x) => x.AddHandler<SampleWritten>((SampleWritten _) =>
        {
            firstWritten.TrySetResult();
            return Task.CompletedTask;
        });
        var run = Workspace.RunAsync(SignalFirstWrite, cancel.Token, "label", _ws.Dataset, "--model", Workspace.Owlv2Model, "--prompt", "red", "--execution-provider", "cpu");
        var labels = _ws.LabelsPath;
        await Task.WhenAny(firstWritten.Task, run); // the first batch is written: the job is under way
        Assert.False(run.IsCompleted, "the job ended before its first write");
        await cancel.CancelAsync();
        var stopping = System.Diagnostics.Stopwatch.StartNew();

        var (exit, output, _) = await run.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(OwlboxCli.Cancelled, exit);
        Assert.Contains("Stopped on request", output, StringComparison.Ordinal);
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(20), $"stopping took {stopping.Elapsed}");
        _ = _ws.Boxes("busy-800x450.jpg"); // the labels file is still one Owlbox reads (a torn file would throw)
        // Every written sample gets the labeling metadata: some were written, and far from all 406.
        var written = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(labels))!["metadata"]!.AsObject().Count;
        Assert.InRange(written, 1, 405);
    }
}

/// <summary>What makes the whole job impossible stops it at setup (exit 1, one message), not once per sample.</summary>
public sealed class SetupErrorTests : IDisposable
{
    private readonly Workspace _ws = new();

    public void Dispose() => _ws.Dispose();

    private string BrokenModel(Action<string> breakOnnx)
    {
        var model = Path.Combine(_ws.Root, "model");
        foreach (var file in Directory.GetFiles(Workspace.Owlv2Model, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(model, Path.GetRelativePath(Workspace.Owlv2Model, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        breakOnnx(Path.Combine(model, "onnx", "model.onnx"));
        return model;
    }

    private async Task AssertSetupErrorAsync(string expected, params string[] args)
    {
        var before = File.ReadAllBytes(_ws.LabelsPath);

        var (exit, output, err) = await Workspace.RunAsync(["label", _ws.Dataset, "--prompt", "red", .. args]);

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.DoesNotContain("Labeling ", output, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(_ws.LabelsPath));
    }

    [Fact]
    public Task AGitLfsPointer_SaysToPullTheWeights() => AssertSetupErrorAsync("is a Git LFS pointer, not the weights; run 'git lfs install && git lfs pull'",
        "--model", BrokenModel(f => File.WriteAllText(f, "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 613\n")), "--execution-provider", "cpu");

    [Fact]
    public Task ATruncatedOnnxFile() => AssertSetupErrorAsync("ONNX Runtime cannot load",
        "--model", BrokenModel(f => File.WriteAllBytes(f, File.ReadAllBytes(f)[..5000])), "--execution-provider", "cpu");

    [Fact]
    public Task AnUnknownExecutionProvider() => AssertSetupErrorAsync("--execution-provider must be auto, cpu or cuda, got 'rocm'",
        "--model", Workspace.Owlv2Model, "--execution-provider", "rocm");

    [Fact]
    public Task MoreThreadsThanTheMachineHas() => AssertSetupErrorAsync($"this machine has {Environment.ProcessorCount} cores",
        "--model", Workspace.Owlv2Model, "--threads", "100000");

    [SkippableFact]
    public async Task Cuda_OnABuildWithoutIt()
    {
        Skip.If(Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"), "this build has CUDA");
        await AssertSetupErrorAsync("the CUDA execution provider is not available here", "--model", Workspace.Owlv2Model, "--execution-provider", "cuda");
    }
}
