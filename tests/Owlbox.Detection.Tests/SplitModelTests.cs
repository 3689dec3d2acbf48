using Owlbox.Detection.Inference;
using Owlbox.Detection.Models;
using Owlbox.ModelTool;

namespace Owlbox.Detection.Tests;

/// <summary>The split form (image encoder + text encoder, class head in C#) must give what the published single graph
/// gives, on the same weights: it is a faster way to the same numbers, not another model.</summary>
public sealed class SplitModelTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("owlbox-split-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Theory]
    [InlineData("owlvit")]
    [InlineData("owlv2")]
    public void SplitAndSingleGraph_GiveTheSameLogitsAndBoxes(string modelType)
    {
        var split = Path.Combine(_temp, "split");
        FullSizeModels.Write(OwlArchitecture.Tiny(modelType), split);
        var single = Path.Combine(_temp, "single");
        Directory.CreateDirectory(Path.Combine(single, "onnx"));
        foreach (var f in Directory.GetFiles(split, "*", SearchOption.AllDirectories).Where(f => !Path.GetFileName(f).Contains("encoder", StringComparison.Ordinal)))
        {
            File.Copy(f, Path.Combine(single, Path.GetRelativePath(split, f)));
        }
        var options = new DetectorOptions { ExecutionProvider = "cpu" };
        using var a = new OwlDetector(ModelDirectory.Load(split), options);
        using var b = new OwlDetector(ModelDirectory.Load(single), options);
        var random = new Random(5);
        var pixels = Enumerable.Range(0, 3 * a.Model.ImageSize * a.Model.ImageSize).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        string[] prompts = ["red", "a blue car on the road", "yellow thing"];

        var qa = a.PrepareQueries(prompts);
        var outA = a.Run(pixels, qa);
        var outB = b.Run(pixels, b.PrepareQueries(prompts));

        Assert.True(a.Model.IsSplit);
        Assert.False(b.Model.IsSplit);
        Assert.NotNull(qa.Embeddings);
        Assert.Equal((outB.Patches, outB.Queries), (outA.Patches, outA.Queries));
        Assert.True(outA.Logits.Distinct().Count() > 10, "logits should vary across patches and queries");
        for (var i = 0; i < outA.Logits.Length; i++)
        {
            Assert.True(Math.Abs(outA.Logits[i] - outB.Logits[i]) < 1e-3 * (1 + Math.Abs(outB.Logits[i])), $"logit {i}: {outA.Logits[i]} vs {outB.Logits[i]}");
        }
        for (var i = 0; i < outA.Boxes.Length; i++)
        {
            Assert.True(Math.Abs(outA.Boxes[i] - outB.Boxes[i]) < 1e-4, $"box value {i}: {outA.Boxes[i]} vs {outB.Boxes[i]}");
        }
    }
}
