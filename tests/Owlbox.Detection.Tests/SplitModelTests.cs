using Owlbox.Detection.Inference;
using Owlbox.Models;
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
        using var outA = a.Run(pixels, qa);
        using var outB = b.Run(pixels, b.PrepareQueries(prompts));

        Assert.True(a.Model.IsSplit);
        Assert.False(b.Model.IsSplit);
        Assert.NotNull(qa.Embeddings);
        Assert.Equal((outB.Patches, outB.Queries), (outA.Patches, outA.Queries));
        var (logitsA, logitsB, boxesA, boxesB) = (outA.Logits.ToArray(), outB.Logits.ToArray(), outA.Boxes.ToArray(), outB.Boxes.ToArray());
        Assert.Equal(logitsB.Length, logitsA.Length);
        Assert.True(logitsA.Distinct().Count() > 10, "logits should vary across patches and queries");
        for (var i = 0; i < logitsA.Length; i++)
        {
            Assert.True(Math.Abs(logitsA[i] - logitsB[i]) < 1e-3 * (1 + Math.Abs(logitsB[i])), $"logit {i}: {logitsA[i]} vs {logitsB[i]}");
        }
        for (var i = 0; i < boxesA.Length; i++)
        {
            Assert.True(Math.Abs(boxesA[i] - boxesB[i]) < 1e-4, $"box value {i}: {boxesA[i]} vs {boxesB[i]}");
        }
    }

    [Fact]
    public void Rescoring_EncodedImage_WithANewPrompt_EqualsAFreshRun()
    {
        var dir = Path.Combine(_temp, "split");
        FullSizeModels.Write(OwlArchitecture.Tiny("owlvit"), dir);
        using var detector = new OwlDetector(ModelDirectory.Load(dir), new DetectorOptions { ExecutionProvider = "cpu" });
        var random = new Random(9);
        var pixels = Enumerable.Range(0, 3 * detector.Model.ImageSize * detector.Model.ImageSize).Select(_ => (float)random.NextDouble()).ToArray();
        var (boxes, features) = detector.EncodeImages(pixels);
        var cache = new ImageEmbeddingCache(1L << 20);
        cache.Add("img", new CachedImage(640, 480, boxes, features));
        var newPrompt = detector.PrepareQueries(["green block", "a person", "white square", "magenta sign"]);

        Assert.True(cache.TryGet("img", out var cached));
        using var rescored = OwlDetector.Score(cached, newPrompt);
        using var fresh = detector.Run(pixels, newPrompt);

        var (freshLogits, rescoredLogits) = (fresh.Logits.ToArray(), rescored.Logits.ToArray());
        Assert.Equal(freshLogits.Length, rescoredLogits.Length);
        for (var i = 0; i < freshLogits.Length; i++)
        {
            // The cache keeps the (unit-length) class embeddings in fp16, 2^-11 relative per value: the dot product
            // moves by about 1e-3, the logit by that times the patch's scale.
            var scale = Math.Abs(features.Scale[i / newPrompt.Count]);
            Assert.True(Math.Abs(freshLogits[i] - rescoredLogits[i]) < 2e-3 * Math.Max(1, scale), $"logit {i}: {freshLogits[i]} vs {rescoredLogits[i]} (scale {scale})");
        }
        Assert.Equal(fresh.Boxes.ToArray(), rescored.Boxes.ToArray());
        rescored.Dispose(); // its pooled buffers go back: reading them now would read another image's outputs
        Assert.Throws<ObjectDisposedException>(() => rescored.Logits);
    }

    [Fact]
    public void Cache_EvictsLeastRecentlyUsedBeyondItsByteBound()
    {
        static CachedImage Image() => new(10, 10, new float[4 * 10], new ImageFeatures(new float[10 * 8], new float[10], new float[10], 8));
        var size = Image().Bytes;
        var cache = new ImageEmbeddingCache(3 * size);
        cache.Add("a", Image());
        cache.Add("b", Image());
        cache.Add("c", Image());
        Assert.True(cache.TryGet("a", out _)); // a is now the most recent

        cache.Add("d", Image());

        Assert.Equal(3, cache.Count);
        Assert.Equal(3 * size, cache.Bytes);
        Assert.False(cache.TryGet("b", out _));
        Assert.True(cache.TryGet("a", out _));
        Assert.True(cache.TryGet("d", out _));
        Assert.NotEqual(ImageEmbeddingCache.Key("m1", [1, 2, 3]), ImageEmbeddingCache.Key("m2", [1, 2, 3]));
        Assert.NotEqual(ImageEmbeddingCache.Key("m1", [1, 2, 3]), ImageEmbeddingCache.Key("m1", [1, 2, 4]));
    }
}
