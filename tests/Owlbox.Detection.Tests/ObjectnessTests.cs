using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using Owlbox.Detection.Imaging;
using Owlbox.Detection.Inference;
using Owlbox.Labeling;
using Owlbox.Labeling.Prompts;
using Owlbox.ModelPreparation;
using Owlbox.Models;
using Owlbox.ModelTool;

namespace Owlbox.Detection.Tests;

/// <summary>OWLv2's objectness per patch, read from a prepared image encoder that outputs it: the engine keeps it with
/// the image's encoding (single and batched runs), equal to the single graph's <c>objectness_logits</c>, in memory and
/// through a disk round trip; a model without it (OWL-ViT) keeps none and its files still round-trip; a version-02 file
/// (no objectness field) and a file whose objectness length does not fit are misses.</summary>
public sealed class ObjectnessTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("owlbox-objectness-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static byte[] Sample(string name) => File.ReadAllBytes(Path.Combine(TestSupport.RepoRoot, "samples", "shapes", name));

    /// <summary>An HF-traced single graph and its prepared copy.</summary>
    private (string Single, string Prepared) Export(string type)
    {
        var single = Path.Combine(_temp, type + "-single");
        HfOwlExport.Write(single, new HfExportOptions { ModelType = type });
        var prepared = TestSupport.CopyModel(single, Path.Combine(_temp, type + "-prepared"));
        ModelPreparer.Prepare(prepared);
        return (single, prepared);
    }

    private static DetectionPlan Plan(OwlDetector detector) =>
        DetectionPlan.Create(detector, LabelingPrompt.Parse("red square\nblue thing"), new LabelingOptions { ScoreFloor = 0 });

    /// <summary>The single graph's <c>objectness_logits</c> for one image, run with ONNX Runtime on the pixels the engine feeds.</summary>
    private static float[] SingleGraphObjectness(string single, DetectionPlan plan, byte[] image)
    {
        using var prepared = ImageDetection.Prepare(image, plan.Preprocessor, new DecodeLimits());
        var s = plan.Detector.Model.ImageSize;
        var q = plan.Queries;
        using var session = new InferenceSession(ModelDirectory.Load(single).OnnxPath);
        using var pixels = OrtValue.CreateTensorValueFromMemory(prepared.Pixels.ToArray(), [1, 3, s, s]);
        using var ids = OrtValue.CreateTensorValueFromMemory(q.InputIds, [q.Count, q.Length]);
        using var mask = OrtValue.CreateTensorValueFromMemory(q.AttentionMask, [q.Count, q.Length]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["pixel_values", "input_ids", "attention_mask"], [pixels, ids, mask], [ModelPreparer.ObjectnessOutput]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static void AssertClose(float[] want, float[] got, float tolerance)
    {
        Assert.Equal(want.Length, got.Length);
        var worst = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= tolerance, $"objectness differs by up to {worst}");
    }

    [Fact]
    public void Owlv2_TheEnginesKeptEncoding_HasTheSingleGraphsObjectness_AndADiskRoundTripKeepsItExactly()
    {
        var (single, prepared) = Export("owlv2");
        using var detector = new OwlDetector(ModelDirectory.Load(prepared), new DetectorOptions { ExecutionProvider = "cpu" });
        var plan = Plan(detector);
        var image = Sample("busy-800x450.jpg");
        var folder = Path.Combine(_temp, "embeddings");
        var cache = new ImageEmbeddingCache(1L << 30, new EmbeddingStore(folder, 1L << 30));

        var detected = DetectionEngine.Detect(plan, image, cache);
        var key = ImageEmbeddingCache.Key(detector.EncodingIdentity, image);
        Assert.True(cache.TryGet(key, out var kept));
        var want = SingleGraphObjectness(single, plan, image);

        Assert.False(detected.FromCache);
        Assert.True(detector.Model.IsSplit);
        Assert.Equal(kept.Shift.Length, kept.Objectness.Length);
        Assert.True(want.Distinct().Count() > 1, "the reference should vary over the patches");
        AssertClose(want, kept.Objectness, 1e-5f);

        // A later process: a new store over the same folder.
        Assert.True(new EmbeddingStore(folder, 1L << 30).TryRead(key, out var read));
        Assert.Equal(kept.Objectness, read.Objectness);
        Assert.Equal(kept.Boxes, read.Boxes);
    }

    [Fact]
    public void Owlv2_ABatchedRun_GivesEachImageItsOwnObjectness_AsOneImageAtATimeDoes()
    {
        var (_, prepared) = Export("owlv2");
        using var detector = new OwlDetector(ModelDirectory.Load(prepared), new DetectorOptions { ExecutionProvider = "cpu", ImageBatchSize = 2 });
        var plan = Plan(detector);
        var pixels = new[] { "busy-800x450.jpg", "wide-640x360.jpg" }
            .Select(name => { using var p = ImageDetection.Prepare(Sample(name), plan.Preprocessor, new DecodeLimits()); return p.Pixels.ToArray(); })
            .ToArray();

        var batched = detector.EncodeBatch([.. pixels.Select(p => (ReadOnlyMemory<float>)p)]);
        var alone = pixels.Select(p => detector.EncodeImages(p).Features.Objectness).ToArray();

        Assert.Equal(2, batched.Length);
        Assert.NotEqual(alone[0], alone[1]);
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(batched[i].Features.Shift.Length, batched[i].Features.Objectness.Length);
            AssertClose(alone[i], batched[i].Features.Objectness, 1e-5f);
        }
    }

    [Fact]
    public void OwlVit_KeepsNoObjectness_AndItsFilesStillRoundTrip()
    {
        var (_, prepared) = Export("owlvit");
        using var detector = new OwlDetector(ModelDirectory.Load(prepared), new DetectorOptions { ExecutionProvider = "cpu" });
        var image = Sample("busy-800x450.jpg");
        var folder = Path.Combine(_temp, "embeddings");
        var cache = new ImageEmbeddingCache(1L << 30, new EmbeddingStore(folder, 1L << 30));

        DetectionEngine.Detect(Plan(detector), image, cache);
        var key = ImageEmbeddingCache.Key(detector.EncodingIdentity, image);
        Assert.True(cache.TryGet(key, out var kept));
        Assert.True(new EmbeddingStore(folder, 1L << 30).TryRead(key, out var read));

        Assert.Empty(kept.Objectness);
        Assert.Empty(read.Objectness);
        Assert.Equal(kept.Boxes, read.Boxes);
        Assert.Equal(kept.ClassEmbeddings, read.ClassEmbeddings);
    }

    private static CachedImage Image(int patches, int objectness) =>
        new(640, 480, new float[4 * patches], new Half[patches * 8], new float[patches], new float[patches], 8,
            [.. Enumerable.Range(0, objectness).Select(i => i - 0.5f)]);

    [Fact]
    public void AWellFormedVersion02File_IsAMiss_AndIsRemoved()
    {
        var store = new EmbeddingStore(Path.Combine(_temp, "e"), 1L << 30);
        const string key = "model|AAAA";
        store.Write(key, Image(10, 0));
        Assert.True(store.TryRead(key, out _));
        // The same encoding as version 02 wrote it: seven header ints (no objectness length), its own valid hash.
        var v3 = File.ReadAllBytes(store.PathFor(key));
        var objectnessField = 8 + 4 + Encoding.UTF8.GetByteCount(key) + 4 * 7;
        var v2 = v3[..objectnessField].Concat(v3[(objectnessField + 4)..^8]).ToArray();
        "OWLEMB02"u8.CopyTo(v2);
        var hash = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(hash, XxHash3.HashToUInt64(v2));
        File.WriteAllBytes(store.PathFor(key), [.. v2, .. hash]);

        Assert.False(store.TryRead(key, out _));
        Assert.False(File.Exists(store.PathFor(key)));
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(10, true)]
    [InlineData(3, false)]
    [InlineData(11, false)]
    public void AnObjectnessLength_IsKept_OnlyWhenItIsNoneOrOnePerPatch(int objectness, bool kept)
    {
        var store = new EmbeddingStore(Path.Combine(_temp, "e"), 1L << 30);
        var written = Image(10, objectness);
        Directory.CreateDirectory(Path.GetDirectoryName(store.PathFor("k"))!);
        File.WriteAllBytes(store.PathFor("k"), EmbeddingStore.Encode("k", written));

        Assert.Equal(kept, store.TryRead("k", out var read));
        if (kept)
        {
            Assert.Equal(written.Objectness, read.Objectness);
        }
    }
}
