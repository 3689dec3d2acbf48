using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Owlbox.Detection.Tests;
using Owlbox.ModelPreparation;
using Owlbox.Models.Text;

namespace Owlbox.ModelPreparation.Tests;

/// <summary>The three parts of a published-layout single graph, written as models of their own and run one after the
/// other (image, text, then the head on what they hand on), give the single graph's logits and boxes.</summary>
public class PartModelsTests
{
    private static readonly HashSet<string> s_image = ["pixel_values"];
    private static readonly HashSet<string> s_text = ["input_ids", "attention_mask"];

    [Theory]
    [InlineData("owlvit-test", 768)]
    [InlineData("owlv2-test", 960)]
    [InlineData("other", 768)]
    public void ThePartsRunInTurn_GiveTheSingleGraphsOutputs(string name, int size)
    {
        var dir = TestSupport.ModelDir(name);
        if (name == "other")
        {
            dir = Path.Combine(Directory.CreateTempSubdirectory("owlbox-other-").FullName, "other");
            OtherExporter.Write(dir);
        }
        var path = Path.Combine(dir, "onnx", "model.onnx");
        var source = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var parts = GraphPartition.Split(source.Graph, s_image, s_text);
        using var image = new InferenceSession(PartModels.Build(source, parts.Image, "image").ToByteArray());
        var textPart = PartModels.ResolveImageBatch(parts.Text, parts.ImageBatch);
        using var text = new InferenceSession(PartModels.Build(source, textPart, "text").ToByteArray());
        var types = image.OutputMetadata.Concat(text.OutputMetadata)
            .ToDictionary(kv => kv.Key, kv => PartModels.Tensor((int)kv.Value.ElementDataType, kv.Value.Dimensions.Length), StringComparer.Ordinal);
        using var head = new InferenceSession(PartModels.Build(source, parts.Head, "head", types).ToByteArray());
        using var single = new InferenceSession(path);

        // Colour blocks (the colour test models answer colours, not noise): 96-pixel squares of varying colour, a little noise.
        var noise = new Random(3);
        var pixels = new float[3 * size * size];
        for (var c = 0; c < 3; c++)
        {
            for (var y = 0; y < size; y++)
            {
                for (var x = 0; x < size; x++)
                {
                    pixels[(c * size + y) * size + x] = ((x / 96) + 2 * (y / 96) + c) % 3 - 1f + (float)(noise.NextDouble() * 0.2 - 0.1);
                }
            }
        }
        var tokenizer = ClipTokenizer.FromTokenizerJson(Path.Combine(dir, "tokenizer.json"));
        string[] queries = ["red square", "a blue thing", "yellow"];
        var ids = new long[queries.Length * 16];
        var mask = new long[queries.Length * 16];
        for (var q = 0; q < queries.Length; q++)
        {
            var encoded = tokenizer.Encode(queries[q], 16);
            for (var t = 0; t < encoded.Length; t++)
            {
                (ids[q * 16 + t], mask[q * 16 + t]) = (encoded[t], 1);
            }
        }
        using var pv = OrtValue.CreateTensorValueFromMemory(pixels, [1, 3, size, size]);
        using var idv = OrtValue.CreateTensorValueFromMemory(ids, [queries.Length, 16]);
        using var mv = OrtValue.CreateTensorValueFromMemory(mask, [queries.Length, 16]);
        var inputs = new Dictionary<string, OrtValue> { ["pixel_values"] = pv, ["input_ids"] = idv, ["attention_mask"] = mv };

        using var expected = single.Run(new RunOptions(), ["pixel_values", "input_ids", "attention_mask"], [pv, idv, mv], ["logits", "pred_boxes"]);
        using var imageOut = image.Run(new RunOptions(), [.. parts.Image.Inputs], [.. parts.Image.Inputs.Select(i => inputs[i])], [.. parts.Image.Outputs]);
        using var textOut = text.Run(new RunOptions(), [.. textPart.Inputs], [.. textPart.Inputs.Select(i => inputs[i])], [.. textPart.Outputs]);
        var handed = parts.Image.Outputs.Zip(imageOut).Concat(parts.Text.Outputs.Zip(textOut)).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);
        using var headOut = head.Run(new RunOptions(), [.. parts.Head.Inputs], [.. parts.Head.Inputs.Select(i => handed.TryGetValue(i, out var v) ? v : inputs[i])], ["logits"]);

        var (want, got) = (expected[0].GetTensorDataAsSpan<float>().ToArray(), headOut[0].GetTensorDataAsSpan<float>().ToArray());
        Assert.Equal(want.Length, got.Length);
        Assert.True(want.Distinct().Count() > 10, "logits vary across patches and queries");
        Assert.All(want.Zip(got), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-4 * (1 + Math.Abs(p.First)), $"{p.First} vs {p.Second}"));
        Assert.Equal(expected[1].GetTensorDataAsSpan<float>().ToArray(), handed["pred_boxes"].GetTensorDataAsSpan<float>().ToArray());
    }
}

/// <summary><see cref="ModelPreparer"/> on a graph the model tool did not write (<see cref="OtherExporter"/>): the baked
/// batch is made dynamic, and the engine finds with the prepared form the boxes it finds with the single graph.</summary>
public sealed class ModelPreparerTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("owlbox-prepare-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void AnotherExportersGraph_IsPrepared_AndGivesTheSameBoxes()
    {
        var dir = Path.Combine(_temp, "other");
        OtherExporter.Write(dir);
        var options = new Owlbox.Detection.Inference.DetectorOptions { ExecutionProvider = "cpu" };
        var image = File.ReadAllBytes(Path.Combine(TestSupport.RepoRoot, "samples", "shapes", "busy-800x450.jpg"));
        string[] queries = ["red", "a blue thing", "yellow"];
        (float[] Logits, float[] Boxes) Run(Owlbox.Detection.Inference.OwlDetector d)
        {
            using var prepared = Owlbox.Detection.Inference.ImageDetection.Prepare(image, new Owlbox.Detection.Imaging.ImagePreprocessor(d.Model), new Owlbox.Detection.Imaging.DecodeLimits());
            using var output = d.Run(prepared.Pixels, d.PrepareQueries(queries));
            return (output.Logits.ToArray(), output.Boxes.ToArray());
        }
        (float[] Logits, float[] Boxes) before;
        using (var single = new Owlbox.Detection.Inference.OwlDetector(Owlbox.Models.ModelDirectory.Load(dir), options))
        {
            Assert.False(single.Model.IsSplit);
            Assert.Equal(1, single.ImageBatchSize); // baked
            before = Run(single);
        }

        var prepared = ModelPreparer.Prepare(dir);

        Assert.Equal(1, prepared.ReshapesMadeDynamic);
        Assert.Equal(("v_class", "v_shift", "v_scale", "t_query"), (prepared.Roles.ClassEmbeddings, prepared.Roles.Shift, prepared.Roles.Scale, prepared.Roles.QueryEmbeddings));
        using var split = new Owlbox.Detection.Inference.OwlDetector(Owlbox.Models.ModelDirectory.Load(dir), options);
        Assert.True(split.Model.IsSplit);
        var after = Run(split);
        Assert.True(before.Logits.Distinct().Count() > 100, "a real image gives varied logits");
        Assert.Equal(before.Boxes, after.Boxes);
        Assert.All(before.Logits.Zip(after.Logits), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-4 * (1 + Math.Abs(p.First)), $"{p.First} vs {p.Second} (check: {prepared.MaxLogitDifference})"));
    }
}
