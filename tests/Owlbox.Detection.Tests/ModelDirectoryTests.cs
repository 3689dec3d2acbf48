using Owlbox.Detection.Inference;
using Owlbox.Models;
using Owlbox.Labeling.Boxes;
using Owlbox.ModelTool;

namespace Owlbox.Detection.Tests;

/// <summary>The loader accepts a directory laid out exactly like a hub download and refuses anything else with a
/// message that says what is wrong.</summary>
public sealed class ModelDirectoryTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("owlbox-models-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Theory]
    [InlineData("owlvit-test", OwlModelType.OwlVit, 768, InputLayout.Stretch)]
    [InlineData("owlv2-test", OwlModelType.Owlv2, 960, InputLayout.PadBottomRight)]
    public void Load_CommittedTestModels_HaveTheHubLayout(string name, OwlModelType type, int size, InputLayout layout)
    {
        var dir = TestSupport.ModelDir(name);
        // Exactly the files of a Xenova/owlvit-* or Xenova/owlv2-* download (quantize_config aside).
        string[] hubFiles = ["config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt", "onnx/model.onnx"];
        Assert.All(hubFiles, f => Assert.True(File.Exists(Path.Combine(dir, f)), f));

        var model = ModelDirectory.Load(dir);

        Assert.Equal(type, model.Type);
        Assert.Equal(size, model.ImageSize);
        Assert.Equal(layout, model.Layout);
        Assert.Equal(16, model.MaxTextTokens);
        Assert.Equal($"owlbox/{model.TypeName}-colour-test", model.ModelId);
        Assert.True(new FileInfo(Path.Combine(dir, "onnx", "model.onnx")).Length < 5_000_000);
    }

    [Fact]
    public void Load_CopiedToAnyFolder_WorksUnchanged()
    {
        // A user points --model at wherever they downloaded the export; nothing may depend on our folder names.
        var copy = Path.Combine(_temp, "Xenova_owlv2-base-patch16-ensemble");
        CopyDirectory(TestSupport.ModelDir("owlv2-test"), copy);

        using var detector = new OwlDetector(ModelDirectory.Load(copy), new DetectorOptions { ExecutionProvider = "cpu" });

        Assert.Equal(1, detector.ImageBatchSize);
        Assert.Equal("CPU", detector.ExecutionProvider);
    }

    [Fact]
    public void Load_MissingConfig_SaysWhichFile()
    {
        var dir = Copy("owlvit-test");
        File.Delete(Path.Combine(dir, "config.json"));

        var e = Assert.Throws<ModelException>(() => ModelDirectory.Load(dir));

        Assert.Contains("config.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownModelType_IsRefused()
    {
        var dir = Copy("owlvit-test");
        var config = Path.Combine(dir, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"owlvit\"", "\"clip\"", StringComparison.Ordinal));

        var e = Assert.Throws<ModelException>(() => ModelDirectory.Load(dir));

        Assert.Contains("model_type \"clip\" is not supported", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingVariant_ListsTheAvailableOnes()
    {
        var e = Assert.Throws<ModelException>(() => ModelDirectory.Load(TestSupport.ModelDir("owlv2-test"), "quantized"));

        Assert.Contains("model_quantized.onnx", e.Message, StringComparison.Ordinal);
        Assert.Contains("available: model.onnx", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_CenterCropConfig_IsRefused()
    {
        var dir = Copy("owlvit-test");
        var pre = Path.Combine(dir, "preprocessor_config.json");
        File.WriteAllText(pre, File.ReadAllText(pre).Replace("\"do_center_crop\": false", "\"do_center_crop\": true", StringComparison.Ordinal));

        Assert.Contains("do_center_crop", Assert.Throws<ModelException>(() => ModelDirectory.Load(dir)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_OnnxWithoutTheOwlContract_IsRefusedNamingTheMissingTensors()
    {
        var dir = Copy("owlvit-test");
        var g = new Owlbox.ModelTool.Onnx.OnnxGraph("not_owl");
        var x = g.Input("image", Owlbox.ModelTool.Onnx.ElementType.Float, 1, 3, 768, 768);
        g.Output(g.Node("Relu", [x]), "features", Owlbox.ModelTool.Onnx.ElementType.Float, 1, 3, 768, 768);
        File.WriteAllBytes(Path.Combine(dir, "onnx", "model.onnx"), g.ToModelBytes());

        var e = Assert.Throws<ModelException>(() => new OwlDetector(ModelDirectory.Load(dir), new DetectorOptions { ExecutionProvider = "cpu" }));

        Assert.Contains("missing pixel_values, input_ids, attention_mask, logits, pred_boxes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Generator_IsDeterministic_AndMatchesTheCommittedModels()
    {
        TestModels.WriteAll(_temp);

        foreach (var name in new[] { "owlvit-test", "owlv2-test" })
        {
            foreach (var file in Directory.GetFiles(TestSupport.ModelDir(name), "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(TestSupport.ModelDir(name), file);
                Assert.True(File.ReadAllBytes(file).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(_temp, name, relative))),
                    $"{name}/{relative} differs from a fresh generation: run `dotnet run --project tools/Owlbox.ModelTool -- test-models models`");
            }
        }
    }

    private string Copy(string name)
    {
        var dir = Path.Combine(_temp, name + "-" + Guid.NewGuid().ToString("N"));
        CopyDirectory(TestSupport.ModelDir(name), dir);
        return dir;
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
