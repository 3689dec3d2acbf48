using Owlbox.Detection.Imaging;
using Owlbox.Detection.Inference;
using Owlbox.Labeling;
using Owlbox.Labeling.Prompts;
using Owlbox.ModelPreparation;
using Owlbox.Models;

namespace Owlbox.Detection.Tests;

/// <summary>Several images per run of the image encoder (what a GPU detector does) is a faster way to the same boxes:
/// a run of N gives each image what a run of one gives it.</summary>
public sealed class ImageBatchTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("owlbox-batch-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    /// <summary>The committed colour model, prepared (split form with a dynamic image batch).</summary>
    private string PreparedColourModel(string name)
    {
        var dir = TestSupport.CopyModel(TestSupport.ModelDir(name), Path.Combine(_temp, name));
        ModelPreparer.Prepare(dir);
        return dir;
    }

    private static byte[][] SampleImages() =>
        [.. Directory.GetFiles(Path.Combine(TestSupport.RepoRoot, "samples", "shapes")).Where(f => f.EndsWith(".jpg", StringComparison.Ordinal) || f.EndsWith(".png", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).Select(File.ReadAllBytes)];

    [Theory]
    [InlineData("owlvit-test", 4)]
    [InlineData("owlv2-test", 3)]
    public async Task ABatchOfN_FindsWhatNSingleRunsFind_AndACorruptImageFailsAlone(string model, int perRun)
    {
        var dir = PreparedColourModel(model);
        var prompt = LabelingPrompt.Parse(File.ReadAllText(Path.Combine(TestSupport.RepoRoot, "samples", "prompt.txt")));
        var options = new LabelingOptions();
        using var single = new OwlDetector(ModelDirectory.Load(dir), new DetectorOptions { ExecutionProvider = "cpu" });
        using var batched = new OwlDetector(ModelDirectory.Load(dir), new DetectorOptions { ExecutionProvider = "cpu", ImageBatchSize = perRun });
        using var workers = new InferenceWorkers(2);
        var engine = new DetectionEngine(new DetectorPool(new ModelCatalog(new Dictionary<string, string>(), allowDirectories: true), new DetectorOptions()), workers, new ImageEmbeddingCache(0), new DecodeLimits());
        var images = SampleImages().ToList();
        images.Insert(2, [0xFF, 0xD8, 0xFF, 0x00, 1, 2, 3]); // a broken JPEG among them
        var singlePlan = DetectionPlan.Create(single, prompt, options);

        var outcomes = await engine.DetectBatchAsync(DetectionPlan.Create(batched, prompt, options), images, CancellationToken.None);

        Assert.Equal(perRun, batched.ImageBatchSize);
        // One run per group of perRun images (each group here holds at least one image that decodes), not one per image.
        Assert.Equal((images.Count + perRun - 1) / perRun, batched.ImageEncoderRuns);
        Assert.True(images.Count > perRun, "more images than one run takes: several runs, the last one short");
        Assert.Equal(images.Count, outcomes.Count);
        Assert.NotNull(outcomes[2].Failure);
        Assert.Null(outcomes[2].Detections);
        var boxes = 0;
        for (var i = 0; i < images.Count; i++)
        {
            if (i == 2)
            {
                continue;
            }
            var expected = DetectionEngine.Detect(singlePlan, images[i]);
            var got = outcomes[i].Detections!;
            Assert.Equal((expected.Width, expected.Height), (got.Width, got.Height));
            Assert.Equal(expected.Result.Kept.Select(k => (k.Label, k.Box)), got.Result.Kept.Select(k => (k.Label, k.Box)));
            Assert.All(expected.Result.Kept.Zip(got.Result.Kept), p => Assert.True(Math.Abs(p.First.Score - p.Second.Score) < 1e-5, $"{p.First.Score} vs {p.Second.Score}"));
            boxes += got.Result.Kept.Count;
        }
        Assert.True(boxes >= images.Count - 2, $"the colour model finds the samples' shapes ({boxes} boxes)");
    }

    [Fact]
    public void EncodeBatch_GivesEachImageItsSingleRunOutputs_AndRefusesMoreThanARun()
    {
        var dir = PreparedColourModel("owlvit-test");
        using var detector = new OwlDetector(ModelDirectory.Load(dir), new DetectorOptions { ExecutionProvider = "cpu", ImageBatchSize = 3 });
        var length = 3 * detector.Model.ImageSize * detector.Model.ImageSize;
        var random = new Random(4);
        var pixels = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray()).ToArray();

        var full = detector.EncodeBatch([.. pixels.Select(p => (ReadOnlyMemory<float>)p)]);
        var partial = detector.EncodeBatch([pixels[1]]); // a shorter run through the same bound buffers

        for (var i = 0; i < 3; i++)
        {
            var (boxes, features) = detector.EncodeImages(pixels[i]);
            Assert.Equal(boxes, full[i].Boxes, new Tolerance(1e-5f));
            Assert.Equal(features.ClassEmbeddings, full[i].Features.ClassEmbeddings, new Tolerance(1e-5f));
            Assert.Equal(features.Shift, full[i].Features.Shift, new Tolerance(1e-5f));
            Assert.Equal(features.Scale, full[i].Features.Scale, new Tolerance(1e-5f));
        }
        Assert.Equal(full[1].Boxes, partial[0].Boxes, new Tolerance(1e-5f));
        Assert.Throws<ArgumentException>(() => detector.EncodeBatch([.. pixels, pixels[0]]));
    }

    [Theory]
    [InlineData(80L << 30, 50L << 20, 64)] // an H100 and B/32: more fits than a run should take
    [InlineData(10L << 30, 850L << 20, 8)] // OWLv2 B/16 unfused on a 16 GB card: 9 fit, rounded down to tiles of 8
    [InlineData(4L << 30, 850L << 20, 3)] // under 8: as many as fit
    [InlineData(500L << 20, 850L << 20, 1)] // not even one more: one
    [InlineData(0, 50L << 20, 1)] // nothing known
    public void TheBatch_IsWhatFitsInThreeQuartersOfFreeMemory(long free, long perImage, int expected) =>
        Assert.Equal(expected, ImageBatchSizing.FromFreeMemory(free, perImage));

    private sealed class Tolerance(float epsilon) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= epsilon * (1 + Math.Abs(y));
        public int GetHashCode(float obj) => 0;
    }
}
