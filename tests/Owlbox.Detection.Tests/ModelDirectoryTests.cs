using System.Text.Json.Nodes;
using Owlbox.Detection.Inference;
using Owlbox.Models;
using Owlbox.Labeling.Boxes;
using Owlbox.ModelTool;
using DataType = Onnx.TensorProto.Types.DataType;

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
        var g = new OnnxGraph("not_owl");
        var x = g.Input("image", DataType.Float, 1, 3, 768, 768);
        g.Output(g.Node("Relu", [x]), "features", DataType.Float, 1, 3, 768, 768);
        File.WriteAllBytes(Path.Combine(dir, "onnx", "model.onnx"), g.ToModelBytes());

        var e = Assert.Throws<ModelException>(() => new OwlDetector(ModelDirectory.Load(dir), new DetectorOptions { ExecutionProvider = "cpu" }));

        Assert.Contains("missing pixel_values, input_ids, attention_mask, logits, pred_boxes", e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string, string> BadFields => new()
    {
        // Finding 13: an input side of 12000 ran out of memory after 3.5 GB, 20000 overflowed the tensor length.
        { "preprocessor_config.json", "size", "12000", "\"size\" must be a whole number from 1 to 4096, found 12000" },
        { "preprocessor_config.json", "size", """{"height": 20000, "width": 20000}""", "\"size.height\" must be a whole number from 1 to 4096, found 20000" },
        { "preprocessor_config.json", "size", "-768", "\"size\" must be a whole number from 1 to 4096, found -768" },
        { "preprocessor_config.json", "size", "\"768\"", "\"size\" must be a whole number from 1 to 4096, found \"768\"" },
        { "preprocessor_config.json", "size", "768.5", "\"size\" must be a whole number" },
        { "preprocessor_config.json", "size", "null", "no \"size\"" },
        { "preprocessor_config.json", "size", "784", "\"size\" 784 is not a multiple of the patch size 32" },
        { "preprocessor_config.json", "size", "960", "\"size\" 960 is not the model's input size 768" },
        { "preprocessor_config.json", "image_mean", "[0.5, 0.5]", "\"image_mean\" must be a list of 3 numbers (red, green, blue), found [0.5,0.5]" },
        { "preprocessor_config.json", "image_mean", "0.5", "\"image_mean\" must be a list of 3 numbers" },
        { "preprocessor_config.json", "image_mean", "[0.5, \"x\", 0.5]", "\"image_mean\" must be a list of 3 numbers" },
        { "preprocessor_config.json", "image_std", "[0.2, 0, 0.2]", "\"image_std\" must be a list of 3 numbers above 0" },
        { "preprocessor_config.json", "image_std", "[0.2, 1e300, 0.2]", "\"image_std\" must be a list of 3 numbers above 0" },
        { "preprocessor_config.json", "rescale_factor", "\"1/255\"", "\"rescale_factor\" must be a number above 0" },
        { "preprocessor_config.json", "rescale_factor", "-1", "\"rescale_factor\" must be a number above 0" },
        { "preprocessor_config.json", "do_center_crop", "\"no\"", "\"do_center_crop\" must be true or false" },
        { "preprocessor_config.json", "do_rescale", "1", "\"do_rescale\" must be true or false" },
        // Finding 12: these were .NET exception text (InvalidOperationException, "The node must be of type 'JsonObject'", ...).
        { "config.json", "model_type", "7", "\"model_type\" must be a string, found 7" },
        { "config.json", "_name_or_path", "5", "\"_name_or_path\" must be a string, found 5" },
        { "config.json", "text_config", "16", "\"text_config\" must be an object, found 16" },
        { "config.json", "text_config.max_position_embeddings", "-1", "\"text_config.max_position_embeddings\" must be a whole number from 2 to 4096, found -1" },
        { "config.json", "text_config.max_position_embeddings", "\"16\"", "\"text_config.max_position_embeddings\" must be a whole number" },
        { "config.json", "vision_config.patch_size", "0", "\"vision_config.patch_size\" must be a whole number from 1 to 4096, found 0" },
        { "config.json", "", "[]", "must hold a JSON object, found []" },
        { "preprocessor_config.json", "", "\"hello\"", "must hold a JSON object, found \"hello\"" },
    };

    [Theory]
    [MemberData(nameof(BadFields))]
    public void Load_ABadConfigField_IsNamedWithItsFile(string file, string field, string json, string message)
    {
        var dir = Copy("owlvit-test");
        var path = Path.Combine(dir, file);
        JsonNode? root = JsonNode.Parse(File.ReadAllText(path));
        if (field.Length == 0)
        {
            root = JsonNode.Parse(json);
        }
        else
        {
            var parts = field.Split('.');
            var parent = parts[..^1].Aggregate(root!, (node, part) => node[part]!);
            parent[parts[^1]] = JsonNode.Parse(json);
        }
        File.WriteAllText(path, root!.ToJsonString());

        var e = Assert.Throws<ModelException>(() => ModelDirectory.Load(dir));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
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
