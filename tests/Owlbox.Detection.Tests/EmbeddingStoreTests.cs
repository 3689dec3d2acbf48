using Owlbox.Detection.Imaging;
using Owlbox.Detection.Inference;
using Owlbox.Labeling;
using Owlbox.Labeling.Prompts;
using Owlbox.Models;
using Owlbox.ModelTool;

namespace Owlbox.Detection.Tests;

/// <summary>Image encodings on disk: a later process (here, a new cache over the same folder) re-prompts a seen image
/// with the class head only and finds the boxes a fresh run finds; torn and damaged files are misses; the folder
/// stays within its bound, least recently used first; concurrent writers never expose half a file; a file is only
/// ever read for the key it was written for; no failure of the folder costs more than the cache; nothing is read or
/// written through a symbolic link, and a link loop in the folder costs nothing.</summary>
public sealed class EmbeddingStoreTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("owlbox-embeddings-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private string SplitModel()
    {
        var dir = Path.Combine(_temp, "model");
        if (!Directory.Exists(dir))
        {
            FullSizeModels.Write(OwlArchitecture.Tiny("owlv2"), dir);
        }
        return dir;
    }

    private static CachedImage Sample(int seed, int patches = 64, int dimension = 16)
    {
        var random = new Random(seed);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        return new CachedImage(640, 480, Values(patches * 4), new ImageFeatures(Values(patches * dimension), Values(patches), Values(patches), dimension));
    }

    [Fact]
    public void ANewProcess_RePromptsASeenImageFromDisk_AndFindsWhatAFreshRunFinds()
    {
        var options = new DetectorOptions { ExecutionProvider = "cpu" };
        using var detector = new OwlDetector(ModelDirectory.Load(SplitModel()), options);
        var image = File.ReadAllBytes(Path.Combine(TestSupport.RepoRoot, "samples", "shapes", "busy-800x450.jpg"));
        var folder = Path.Combine(_temp, "embeddings");
        DetectionPlan Plan(string prompt) => DetectionPlan.Create(detector, LabelingPrompt.Parse(prompt), new LabelingOptions { ScoreFloor = 0 });
        var first = DetectionEngine.Detect(Plan("red\nblue"), image, new ImageEmbeddingCache(1L << 30, new EmbeddingStore(folder, 1L << 30)));
        Assert.False(first.FromCache);

        // A later process: nothing in memory, the same folder.
        var later = new ImageEmbeddingCache(0, new EmbeddingStore(folder, 1L << 30));
        var newPrompt = Plan("a green block\na person\nyellow thing");
        var reprompted = DetectionEngine.Detect(newPrompt, image, later);
        var fresh = DetectionEngine.Detect(newPrompt, image);

        Assert.True(reprompted.FromCache);
        Assert.True(fresh.Result.Kept.Count > 0, "the tiny model's random weights still keep boxes at score floor 0");
        Assert.Equal(fresh.Result.Kept.Count, reprompted.Result.Kept.Count);
        foreach (var (a, b) in fresh.Result.Kept.OrderBy(k => k.Label).ThenBy(k => k.Box.X).ThenBy(k => k.Box.Y)
            .Zip(reprompted.Result.Kept.OrderBy(k => k.Label).ThenBy(k => k.Box.X).ThenBy(k => k.Box.Y)))
        {
            Assert.Equal((a.Label, a.Box), (b.Label, b.Box)); // boxes are stored as fp32: exact
            Assert.True(Math.Abs(a.Score - b.Score) < 5e-3, $"{a.Score} vs {b.Score}: class embeddings are fp16 on disk");
        }
    }

    [Fact]
    public void AnotherPaddingOrAnotherModelFile_IsAnotherEncoding()
    {
        var dir = SplitModel();
        using var black = new OwlDetector(ModelDirectory.Load(dir), new DetectorOptions { ExecutionProvider = "cpu" });
        using var grey = new OwlDetector(ModelDirectory.Load(dir), new DetectorOptions { ExecutionProvider = "cpu", Owlv2Padding = Owlv2Padding.Grey });
        var blackIdentity = black.EncodingIdentity;
        File.SetLastWriteTimeUtc(black.Model.ImageEncoderPath!, DateTime.UtcNow.AddMinutes(1)); // re-exported in place
        using var reexported = new OwlDetector(ModelDirectory.Load(dir), new DetectorOptions { ExecutionProvider = "cpu" });

        Assert.NotEqual(blackIdentity, grey.EncodingIdentity);
        Assert.NotEqual(blackIdentity, reexported.EncodingIdentity);
    }

    [Fact]
    public void AKeptEncoding_HoldsClassEmbeddingsToHalfPrecision_AndTheRestExactly()
    {
        var random = new Random(3);
        var embeddings = Enumerable.Range(0, 8 * 512).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var features = new ImageFeatures(embeddings, [.. Enumerable.Range(0, 8).Select(i => -i - 0.1f)], [.. Enumerable.Range(0, 8).Select(i => i + 0.7f)], 512);

        var kept = new CachedImage(640, 480, new float[4 * 8], features);

        Assert.All(embeddings.Zip(kept.ClassEmbeddings), p => Assert.True(Math.Abs(p.First - (float)p.Second) <= 5e-4, $"{p.First} vs {p.Second}"));
        Assert.Equal(features.Shift, kept.Shift);
        Assert.Equal(features.Scale, kept.Scale);
        Assert.Equal(4L * (32 + 8 + 8) + 2L * embeddings.Length, kept.Bytes);
    }

    [Fact]
    public void RoundTrip_KeepsEveryValueExactly()
    {
        var store = new EmbeddingStore(Path.Combine(_temp, "e"), 1L << 30);
        var image = Sample(1, patches: 32, dimension: 512); // a real class-embedding width

        store.Write("k", image);
        Assert.True(new EmbeddingStore(store.Directory, 1L << 30).TryRead("k", out var read));

        Assert.Equal((image.Width, image.Height, image.Dimension), (read.Width, read.Height, read.Dimension));
        Assert.Equal(image.Boxes, read.Boxes);
        Assert.Equal(image.Shift, read.Shift);
        Assert.Equal(image.Scale, read.Scale);
        Assert.Equal(image.ClassEmbeddings, read.ClassEmbeddings);
        var fp32Bytes = 4L * (image.Boxes.Length + image.ClassEmbeddings.Length + image.Shift.Length + image.Scale.Length);
        Assert.True(new FileInfo(store.PathFor("k")).Length < fp32Bytes * 0.6, "fp16 embeddings: about half the bytes of the encoder's fp32 form");
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("flipped byte")]
    [InlineData("empty")]
    public void ATornOrDamagedFile_IsAMiss_AndIsRemoved(string damage)
    {
        var store = new EmbeddingStore(Path.Combine(_temp, "e"), 1L << 30);
        store.Write("k", Sample(2));
        var path = store.PathFor("k");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, damage switch
        {
            "truncated" => bytes[..(bytes.Length / 2)],
            "flipped byte" => bytes.Select((b, i) => i == bytes.Length / 3 ? (byte)(b ^ 0x40) : b).ToArray(),
            _ => [],
        });

        Assert.False(store.TryRead("k", out _));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void TheFolderStaysWithinItsBound_LeastRecentlyUsedGoingFirst()
    {
        var size = EmbeddingStore.Encode("k0", Sample(0)).Length;
        var store = new EmbeddingStore(Path.Combine(_temp, "e"), 4L * size + size / 2); // room for four
        var start = DateTime.UtcNow.AddHours(-1);
        for (var i = 0; i < 4; i++)
        {
            store.Write($"k{i}", Sample(i));
            File.SetLastWriteTimeUtc(store.PathFor($"k{i}"), start.AddMinutes(i)); // k0 oldest
        }
        Assert.True(store.TryRead("k0", out _)); // used now: k1 is the least recently used

        store.Write("k4", Sample(4));

        var left = Enumerable.Range(0, 5).Where(i => File.Exists(store.PathFor($"k{i}"))).ToArray();
        Assert.DoesNotContain(1, left);
        Assert.Contains(0, left);
        Assert.Contains(4, left);
        var total = Directory.GetFiles(store.Directory, "*.emb", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.True(total <= store.MaxBytes, $"{total} bytes on disk, bound {store.MaxBytes}");
    }

    [Fact]
    public async Task ConcurrentWritersAndReaders_NeverSeeHalfAFile()
    {
        var folder = Path.Combine(_temp, "e");
        var image = Sample(3, patches: 2048);
        var expected = EmbeddingStore.Encode("shared", image);
        var reads = 0;

        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(() =>
        {
            var store = new EmbeddingStore(folder, 1L << 30); // each its own instance, as separate processes
            for (var i = 0; i < 25; i++)
            {
                if (w % 2 == 0)
                {
                    store.Write("shared", image);
                }
                else if (store.TryRead("shared", out var read))
                {
                    Assert.Equal(expected, EmbeddingStore.Encode("shared", read));
                    Interlocked.Increment(ref reads);
                }
            }
        })));

        Assert.True(reads > 0, "some reads found the file");
        Assert.Equal(expected, File.ReadAllBytes(new EmbeddingStore(folder, 1L << 30).PathFor("shared")));
        Assert.Empty(Directory.GetFiles(folder, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void AnotherImagesFileInThisImagesPlace_IsAMiss_AndIsRemoved()
    {
        var store = new EmbeddingStore(Path.Combine(_temp, "e"), 1L << 30);
        store.Write("model|AAAA", Sample(1));
        store.Write("model|BBBB", Sample(2));
        File.Copy(store.PathFor("model|AAAA"), store.PathFor("model|BBBB"), overwrite: true); // a valid file, another key's

        Assert.False(store.TryRead("model|BBBB", out _));
        Assert.False(File.Exists(store.PathFor("model|BBBB")));
        Assert.True(store.TryRead("model|AAAA", out var a));
        Assert.Equal(Sample(1).Boxes, a.Boxes);
    }

    [Fact]
    public void AFileOfAnEarlierFormat_IsAMiss_AndIsRemoved()
    {
        var store = new EmbeddingStore(Path.Combine(_temp, "e"), 1L << 30);
        store.Write("k", Sample(1));
        var path = store.PathFor("k");
        var bytes = File.ReadAllBytes(path);
        "OWLEMB01"u8.CopyTo(bytes); // version 1 carried no key
        File.WriteAllBytes(path, bytes);

        Assert.False(store.TryRead("k", out _));
        Assert.False(File.Exists(path));
    }

    /// <summary>Root-proof (chmod does not stop root): the folder's path is a regular file, so no shard folder can be
    /// made under it.</summary>
    [Fact]
    public void AFolderThatCannotBeMade_CostsTheCacheOnly_WarnsOnce_AndStopsWritingAfterTheLimit()
    {
        var folder = Path.Combine(_temp, "e");
        File.WriteAllText(folder, "not a folder");
        var warnings = new List<string>();
        var store = new EmbeddingStore(folder, 1L << 30, warnings.Add);

        for (var i = 0; i < 10; i++)
        {
            store.Write($"k{i}", Sample(i));
            Assert.False(store.TryRead($"k{i}", out _));
        }
        Assert.True(store.WritesStopped);
        Assert.Equal(2, warnings.Count); // the first failure, then that writing stopped: never one per image
        Assert.Contains(folder, warnings[0], StringComparison.Ordinal);

        File.Delete(folder); // mended: this process still does not write (it gave up), a later one will
        store.Write("k", Sample(1));
        Assert.False(Directory.Exists(folder));
        var later = new EmbeddingStore(folder, 1L << 30);
        later.Write("k", Sample(1));
        Assert.True(later.TryRead("k", out _));
    }

    [Fact]
    public void AFolderWhereAFileShouldBe_IsAMiss_AndWritingOverItFailsQuietly()
    {
        var store = new EmbeddingStore(Path.Combine(_temp, "e"), 1L << 30);
        Directory.CreateDirectory(store.PathFor("k"));

        Assert.False(store.TryRead("k", out _));
        store.Write("k", Sample(1));
        Assert.True(Directory.Exists(store.PathFor("k")));
    }

    [Fact]
    public void DetectionWithAnUnusableCacheFolder_FindsWhatARunWithoutACacheFinds()
    {
        using var detector = new OwlDetector(ModelDirectory.Load(SplitModel()), new DetectorOptions { ExecutionProvider = "cpu" });
        var image = File.ReadAllBytes(Path.Combine(TestSupport.RepoRoot, "samples", "shapes", "busy-800x450.jpg"));
        var folder = Path.Combine(_temp, "blocked");
        File.WriteAllText(folder, "not a folder");
        var plan = DetectionPlan.Create(detector, LabelingPrompt.Parse("red\nblue"), new LabelingOptions { ScoreFloor = 0 });

        var cached = DetectionEngine.Detect(plan, image, new ImageEmbeddingCache(0, new EmbeddingStore(folder, 1L << 30)));
        var fresh = DetectionEngine.Detect(plan, image);

        Assert.Equal(fresh.Result.Kept.Select(k => (k.Label, k.Box)), cached.Result.Kept.Select(k => (k.Label, k.Box)));
    }

    [Fact]
    public void AStoreFolderThatIsALink_IsNeitherWrittenNorReadThrough()
    {
        var outside = Directory.CreateDirectory(Path.Combine(_temp, "outside")).FullName;
        new EmbeddingStore(outside, 1L << 30).Write("k", Sample(1)); // a valid file out there
        var before = Directory.GetFileSystemEntries(outside, "*", SearchOption.AllDirectories).Order().ToArray();
        var dataset = Directory.CreateDirectory(Path.Combine(_temp, "dataset", ".owlbox")).FullName;
        var link = Path.Combine(dataset, "embeddings");
        Directory.CreateSymbolicLink(link, outside);
        var warnings = new List<string>();
        var store = new EmbeddingStore(link, 1L << 30, warnings.Add);

        Assert.False(store.TryRead("k", out _));
        store.Write("k2", Sample(2));
        store.Evict();

        Assert.Equal(before, Directory.GetFileSystemEntries(outside, "*", SearchOption.AllDirectories).Order().ToArray());
        Assert.True(store.Off);
        Assert.Contains(link, Assert.Single(warnings), StringComparison.Ordinal);
    }

    [Fact]
    public void AShardFolderOrAFileThatIsALink_IsNotFollowed()
    {
        var outside = Directory.CreateDirectory(Path.Combine(_temp, "outside")).FullName;
        var store = new EmbeddingStore(Path.Combine(_temp, "e"), 1L << 30);
        var elsewhere = new EmbeddingStore(outside, 1L << 30);
        elsewhere.Write("file", Sample(1));
        Directory.CreateDirectory(Path.GetDirectoryName(store.PathFor("file"))!);
        File.CreateSymbolicLink(store.PathFor("file"), elsewhere.PathFor("file")); // a valid encoding, through a link
        Directory.CreateSymbolicLink(Path.GetDirectoryName(store.PathFor("shard"))!, outside); // "shard" and "file" hash to other shards
        var before = Directory.GetFileSystemEntries(outside, "*", SearchOption.AllDirectories).Order().ToArray();

        Assert.False(store.TryRead("file", out _));
        store.Write("shard", Sample(2));

        Assert.Equal(before, Directory.GetFileSystemEntries(outside, "*", SearchOption.AllDirectories).Order().ToArray());
        Assert.True(File.Exists(elsewhere.PathFor("file")), "the link's target is left alone");
    }

    /// <summary>Two links back to the folder in each other's way: a walk that followed them would visit 2^40 paths
    /// (the kernel's link limit), the 10-minute walk of the finding. This one finishes, counting each file once.</summary>
    [Fact]
    public void LinkLoopsInTheFolder_AreNotFollowed_AndEachFileCountsOnce()
    {
        var size = EmbeddingStore.Encode("k0", Sample(0)).Length;
        var folder = Path.Combine(_temp, "e");
        var store = new EmbeddingStore(folder, 4L * size + size / 2); // room for four
        var start = DateTime.UtcNow.AddHours(-1);
        for (var i = 0; i < 4; i++)
        {
            store.Write($"k{i}", Sample(i));
            File.SetLastWriteTimeUtc(store.PathFor($"k{i}"), start.AddMinutes(i));
            var shard = Path.GetDirectoryName(store.PathFor($"k{i}"))!;
            foreach (var name in new[] { "a", "b" })
            {
                if (!Path.Exists(Path.Combine(shard, name)))
                {
                    Directory.CreateSymbolicLink(Path.Combine(shard, name), folder);
                }
            }
        }
        Directory.CreateSymbolicLink(Path.Combine(folder, "loop"), folder);

        store.Write("k4", Sample(4)); // over the bound: the folder is walked to evict

        var left = Enumerable.Range(0, 5).Where(i => File.Exists(store.PathFor($"k{i}"))).ToArray();
        Assert.Equal([1, 2, 3, 4], left); // only the oldest went: no file was counted twice
    }
}
