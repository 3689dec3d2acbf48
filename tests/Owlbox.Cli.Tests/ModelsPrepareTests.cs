using Microsoft.ML.OnnxRuntime;
using Owlbox.ModelTool;

namespace Owlbox.Cli.Tests;

/// <summary><c>owlbox models prepare</c> on a published-layout single graph: the split form appears beside it with a
/// dynamic image batch, and labeling with it gives the boxes the single graph gives.</summary>
public sealed class ModelsPrepareTests : IDisposable
{
    private readonly Workspace _single = new();
    private readonly Workspace _prepared = new();
    private readonly Workspace _int8 = new();
    private readonly Workspace _batched = new();
    private readonly Workspace _fp16 = new();
    private readonly string _models = Directory.CreateTempSubdirectory("owlbox-prepare-").FullName;

    public void Dispose()
    {
        _single.Dispose();
        _prepared.Dispose();
        _int8.Dispose();
        _batched.Dispose();
        _fp16.Dispose();
        Directory.Delete(_models, recursive: true);
    }

    private string CopyOf(string model)
    {
        var target = Path.Combine(_models, model);
        foreach (var f in Directory.GetFiles(Path.Combine(Workspace.RepoRoot, "models", model), "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(target, Path.GetRelativePath(Path.Combine(Workspace.RepoRoot, "models", model), f));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(f, to);
        }
        return target;
    }

    [Fact]
    public async Task Prepare_StoppedOnRequest_Exits130_WritesNoHalfForm_AndLeavesNoTemporaryFile()
    {
        var model = CopyOf("owlv2-test");
        var before = Directory.GetFiles(model, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
        using var stop = new CancellationTokenSource();
        await stop.CancelAsync(); // as StopSignal does on SIGTERM; the command must see it rather than run on

        var (exit, _, err) = await Workspace.RunAsync(stop.Token, "models", "prepare", model);

        Assert.Equal(Owlbox.Cli.OwlboxCli.Cancelled, exit);
        Assert.StartsWith("stopped on request", err, StringComparison.Ordinal);
        Assert.Equal(before, Directory.GetFiles(model, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("owlv2-test")]
    [InlineData("owlvit-test")]
    public async Task Prepare_WritesADynamicBatchImageEncoder_AndLabelingWithItGivesTheSameBoxes(string name)
    {
        var model = CopyOf(name);

        var prepare = await Workspace.RunAsync("models", "prepare", model);

        Assert.True(prepare.Exit == OwlboxCli.Ok, prepare.Out + prepare.Err);
        Assert.Contains("the head is", prepare.Out, StringComparison.Ordinal);
        using (var encoder = new InferenceSession(Path.Combine(model, "onnx", "image_encoder.onnx")))
        {
            Assert.True(encoder.InputMetadata["pixel_values"].Dimensions[0] < 0, "the image batch is dynamic");
        }
        Assert.True(File.Exists(Path.Combine(model, "onnx", "text_encoder.onnx")));

        var single = await Workspace.RunAsync("label", _single.Dataset, "--model", Path.Combine(Workspace.RepoRoot, "models", name), "--prompt-file", Workspace.PromptFile);
        var split = await Workspace.RunAsync("label", _prepared.Dataset, "--model", model, "--prompt-file", Workspace.PromptFile);

        Assert.True(single.Exit == OwlboxCli.Ok && split.Exit == OwlboxCli.Ok, single.Out + single.Err + split.Out + split.Err);
        Assert.Contains("Model form: single graph as published (model.onnx): `owlbox models prepare", single.Out, StringComparison.Ordinal);
        Assert.Contains("Model form: prepared form (image_encoder.onnx)", split.Out, StringComparison.Ordinal);
        Assert.Contains("@", _single.Boxes(), StringComparison.Ordinal);
        Assert.Equal(_single.Boxes(), _prepared.Boxes());

        // The int8 form, written from the prepared encoders though the export has no model_quantized.onnx: the
        // colour models' boxes survive int8 unchanged (as the model tool's own int8 files' do).
        Assert.Contains("int8 form", prepare.Out, StringComparison.Ordinal);
        var int8 = await Workspace.RunAsync("label", _int8.Dataset, "--model", model, "--model-variant", "quantized", "--prompt-file", Workspace.PromptFile);
        Assert.True(int8.Exit == OwlboxCli.Ok, int8.Out + int8.Err);
        Assert.Equal(_single.Boxes(), _int8.Boxes());

        // Three images per run of the image encoder (as on a GPU; six samples: two runs, one image that fails alone
        // is not among them): the same boxes through the detector service's batched path.
        var batched = await Workspace.RunAsync("label", _batched.Dataset, "--model", model, "--image-batch", "3", "--prompt-file", Workspace.PromptFile);
        Assert.True(batched.Exit == OwlboxCli.Ok, batched.Out + batched.Err);
        Assert.Equal(_single.Boxes(), _batched.Boxes());

        // The fp16 form (for GPUs; here ONNX Runtime's CPU runs what it has no float16 kernel for between casts): every
        // box of the fp32 run, each edge within 1 px.
        Assert.Contains("fp16 form", prepare.Out, StringComparison.Ordinal);
        var fp16 = await Workspace.RunAsync("label", _fp16.Dataset, "--model", model, "--model-variant", "fp16", "--prompt-file", Workspace.PromptFile);
        Assert.True(fp16.Exit == OwlboxCli.Ok, fp16.Out + fp16.Err);
        foreach (var image in _single.Images)
        {
            var (want, got) = (_single.Boxes(image).OrderBy(b => (b.Label, b.X, b.Y)).ToList(), _fp16.Boxes(image).OrderBy(b => (b.Label, b.X, b.Y)).ToList());
            Assert.Equal(want.Select(b => b.Label), got.Select(b => b.Label));
            Assert.All(want.Zip(got), p => Assert.True(
                Math.Abs(p.First.X - p.Second.X) <= 1 && Math.Abs(p.First.Y - p.Second.Y) <= 1 && Math.Abs(p.First.Width - p.Second.Width) <= 1 && Math.Abs(p.First.Height - p.Second.Height) <= 1,
                $"{image}: fp32 {p.First} vs fp16 {p.Second}"));
        }
    }

    [Theory]
    [InlineData("owlvit", true)]
    [InlineData("owlv2", false)]
    public async Task Prepare_OnAGraphTracedAsHfExportsAre_LabelsWithExactlyTheSingleGraphsBoxes(string type, bool dynamicBatch)
    {
        var single = Path.Combine(_models, "traced-single");
        HfOwlExport.Write(single, new HfExportOptions { ModelType = type, DynamicBatch = dynamicBatch });
        var model = Path.Combine(_models, "traced");
        HfOwlExport.Write(model, new HfExportOptions { ModelType = type, DynamicBatch = dynamicBatch });

        var prepare = await Workspace.RunAsync("models", "prepare", model);
        var unprepared = await Workspace.RunAsync("label", _single.Dataset, "--model", single, "--prompt-file", Workspace.PromptFile);
        var prepared = await Workspace.RunAsync("label", _prepared.Dataset, "--model", model, "--prompt-file", Workspace.PromptFile);

        Assert.True(prepare.Exit == OwlboxCli.Ok, prepare.Out + prepare.Err);
        Assert.True(unprepared.Exit == OwlboxCli.Ok && prepared.Exit == OwlboxCli.Ok, unprepared.Out + unprepared.Err + prepared.Out + prepared.Err);
        Assert.Contains("Model form: prepared form (image_encoder.onnx)", prepared.Out, StringComparison.Ordinal);
        Assert.Contains("@", _single.Boxes(), StringComparison.Ordinal);
        Assert.Equal(_single.Boxes(), _prepared.Boxes());
    }

    [Fact]
    public async Task Label_OnAGraphThatCannotBePrepared_LabelsOnTheSingleGraph_AndSaysWhyItIsSlower()
    {
        var model = Path.Combine(_models, "unsplittable");
        HfOwlExport.Write(model, new HfExportOptions { TextReadsImage = true });

        var prepare = await Workspace.RunAsync("models", "prepare", model);
        var label = await Workspace.RunAsync("label", _single.Dataset, "--model", model, "--prompt-file", Workspace.PromptFile);

        Assert.Equal(OwlboxCli.SetupError, prepare.Exit);
        Assert.True(prepare.Err.Contains("the first node that needs both the image and the text is '/owlvit/Mul_1' (Mul)", StringComparison.Ordinal), prepare.Err);
        Assert.True(label.Exit == OwlboxCli.Ok, label.Out + label.Err);
        Assert.Contains("Model form: single graph as published (model.onnx), slower: the prompt is encoded again for every image and no image encodings are kept, because `owlbox models prepare` cannot split this graph: the graph's head has no product", label.Out, StringComparison.Ordinal);
        Assert.Contains("'/owlvit/Mul_1' (Mul)", label.Out, StringComparison.Ordinal);
        Assert.Contains("@", _single.Boxes(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Prepare_OnSomethingThatIsNotAnOwlGraph_SaysWhy_AndWritesNothing()
    {
        var model = CopyOf("owlv2-test");
        File.WriteAllBytes(Path.Combine(model, "onnx", "model.onnx"), [1, 2, 3, 4]);

        var prepare = await Workspace.RunAsync("models", "prepare", model);

        Assert.Equal(OwlboxCli.SetupError, prepare.Exit);
        Assert.Contains("is not an ONNX model", prepare.Err, StringComparison.Ordinal);
        Assert.Equal(["model.onnx"], Directory.GetFiles(Path.Combine(model, "onnx")).Select(Path.GetFileName));
    }
}
