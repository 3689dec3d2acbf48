using Onnx;
using Owlbox.Detection.Inference;
using Owlbox.Detection.Tests;
using Owlbox.Models;
using Owlbox.ModelPreparation;
using Owlbox.ModelTool;

namespace Owlbox.ModelPreparation.Tests;

/// <summary><c>models prepare</c> writes the image tower's attention as ONNX Runtime's fused MultiHeadAttention where
/// the export's attention has the shape it takes, and the prepared form still gives the single graph's outputs.</summary>
public sealed class AttentionFuserTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("owlbox-fuse-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    /// <summary>A published layout (the single graph alone) of the tiny architecture: HF-style unfused attention,
    /// the query scaled before its heads are split, a causal and padding mask in the text tower.</summary>
    private string Published(string modelType)
    {
        var generated = Path.Combine(_temp, "generated-" + modelType);
        FullSizeModels.Write(OwlArchitecture.Tiny(modelType), generated);
        return TestSupport.CopyModel(generated, Path.Combine(_temp, "published-" + modelType),
            f => !Path.GetFileName(f).Contains("encoder", StringComparison.Ordinal) && !f.EndsWith("_quantized.onnx", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("owlvit")]
    [InlineData("owlv2")]
    public void EveryImageLayer_IsFused_AndThePreparedFormGivesTheSingleGraphsOutputs(string modelType)
    {
        var dir = Published(modelType);
        var layers = OwlArchitecture.Tiny(modelType).VisionLayers;

        var prepared = ModelPreparer.Prepare(dir);

        Assert.Equal(layers, prepared.FusedAttentions);
        var encoder = ModelProto.Parser.ParseFrom(File.ReadAllBytes(prepared.ImageEncoderPath));
        Assert.Equal(layers, encoder.Graph.Node.Count(n => n.OpType == "MultiHeadAttention" && n.Domain == AttentionFuser.MicrosoftDomain));
        Assert.DoesNotContain(encoder.Graph.Node, n => n.OpType == "Softmax"); // no unfused attention left behind

        var options = new DetectorOptions { ExecutionProvider = "cpu" };
        using var split = new OwlDetector(ModelDirectory.Load(dir), options);
        File.Move(prepared.ImageEncoderPath, prepared.ImageEncoderPath + ".off"); // the same folder as the single graph again
        using var single = new OwlDetector(ModelDirectory.Load(dir), options);
        Assert.True(split.Model.IsSplit);
        Assert.False(single.Model.IsSplit);
        var random = new Random(12);
        var pixels = Enumerable.Range(0, 3 * split.Model.ImageSize * split.Model.ImageSize).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        string[] prompts = ["red", "a blue car on the road"];
        using var a = split.Run(pixels, split.PrepareQueries(prompts));
        using var b = single.Run(pixels, single.PrepareQueries(prompts));
        var (la, lb) = (a.Logits.ToArray(), b.Logits.ToArray());
        Assert.True(la.Distinct().Count() > 10, "logits vary across patches and queries");
        Assert.All(la.Zip(lb), p => Assert.True(Math.Abs(p.First - p.Second) < 1e-3 * (1 + Math.Abs(p.Second)), $"{p.First} vs {p.Second}"));
        Assert.All(a.Boxes.ToArray().Zip(b.Boxes.ToArray()), p => Assert.True(Math.Abs(p.First - p.Second) < 1e-4, $"{p.First} vs {p.Second}"));
    }

    [Fact]
    public void MaskedAttention_IsLeftAsExported()
    {
        // The whole single graph: the image tower's attentions fuse, the text tower's (a mask added before the
        // Softmax) do not.
        var dir = Published("owlvit");
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir, "onnx", "model.onnx")));
        var softmaxes = model.Graph.Node.Count(n => n.OpType == "Softmax");
        var tiny = OwlArchitecture.Tiny("owlvit");

        var fused = AttentionFuser.Apply(model);

        Assert.Equal(tiny.VisionLayers, fused);
        Assert.Equal(softmaxes - tiny.VisionLayers, model.Graph.Node.Count(n => n.OpType == "Softmax"));
    }
}
