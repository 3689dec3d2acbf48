using System.Collections.Concurrent;
using System.Diagnostics;
using Owlbox.Detection.Imaging;
using Owlbox.Labeling;
using Owlbox.Labeling.Filtering;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Detection.Inference;

/// <summary>What a job asks of the detector, prepared once: the session, the prompt's lines and their encoded
/// queries, the filters.</summary>
public sealed record DetectionPlan(OwlDetector Detector, LabelingPrompt Prompt, QueryTokens Queries, LabelingOptions Options)
{
    public ImagePreprocessor Preprocessor { get; } = new(Detector.Model, Detector.Options.Owlv2Padding);

    /// <summary>With example lines: the text and example queries together (the split form only); else null.</summary>
    public CombinedQueries? Combined { get; init; }

    /// <summary>Tokenizes (and with the split form encodes) the prompt's queries on <paramref name="detector"/>.</summary>
    /// <param name="examples">The job's example queries, computed once at setup; required when the prompt has
    /// example lines (<c>[label]</c>).</param>
    public static DetectionPlan Create(OwlDetector detector, LabelingPrompt prompt, LabelingOptions options, ExampleQueries? examples = null)
    {
        var queries = detector.PrepareQueries(prompt.Lines.Select(l => l.SearchText).ToArray());
        if (!prompt.Lines.Any(l => l.IsExample))
        {
            return new(detector, prompt, queries, options);
        }
        if (!detector.Model.IsSplit)
        {
            throw new Models.ModelException($"example lines ([label]) need the model's prepared form: run `owlbox models prepare {detector.Model.Directory}` first");
        }
        return new(detector, prompt, queries, options) { Combined = new CombinedQueries(prompt.Lines, queries, examples) };
    }

    /// <summary>The class head over a kept encoding.</summary>
    internal DetectorOutput Score(CachedImage image) => Combined is { } c
        ? c.Score<Half>(image.Boxes, image.ClassEmbeddings, image.Shift, image.Scale, image.Dimension)
        : OwlDetector.Score(image, Queries);

    /// <summary>The class head over an encoding fresh from the image encoder.</summary>
    internal DetectorOutput Score(float[] boxes, ImageFeatures features) => Combined is { } c
        ? c.Score<float>(boxes, features.ClassEmbeddings, features.Shift, features.Scale, features.Dimension)
        : OwlDetector.Score(boxes, features, Queries);
}

/// <summary>One image's outcome. <see cref="Milliseconds"/> is its own decoding and inference, not its wait in the
/// queue; <see cref="FromCache"/> when the embedding cache spared the decode and the image encoder.</summary>
public sealed record ImageDetections(FilterResult Result, int Width, int Height, double Milliseconds, bool FromCache);

/// <summary>One image of a batch: its detections, or why it could not be read.</summary>
public sealed record ImageOutcome(ImageDetections? Detections, ImageDecodeException? Failure);

/// <summary>
/// The one way an image becomes boxes, for the detector service, the tools and the tests alike: decode → embedding
/// cache lookup → session → post-processing → filters. The service runs it on the <see cref="InferenceWorkers"/>
/// (<see cref="DetectAsync"/>); the path itself is <see cref="Detect"/>.
/// </summary>
public sealed class DetectionEngine(DetectorPool pool, InferenceWorkers workers, ImageEmbeddingCache cache, DecodeLimits limits)
{
    private readonly ConcurrentDictionary<(string Model, string Variant, string Prompt, LabelingOptions Options, ExampleQueries? Examples), Lazy<DetectionPlan>> _plans = new();

    /// <summary>Encodes the example images (through this engine's cache: each image once, and kept for the job that
    /// labels it) and chooses each example box's query. Throws <see cref="ExampleException"/> or
    /// <see cref="Models.ModelException"/>.</summary>
    public ExampleQueries EmbedExamples(string model, string variant, IReadOnlyList<ExampleImage> images) =>
        ExampleQueries.Embed(pool.Get(model, variant), images, cache, limits);

    /// <summary>Loads the model's session (the pool keeps it): throws <see cref="Models.ModelException"/> when it
    /// cannot run here.</summary>
    public OwlDetector Load(string model, string variant) => pool.Get(model, variant);

    /// <summary>The plan for a model and prompt, built once while the pool keeps that model's session; callers asking
    /// at the same time (a warm-up at submission and the first images) wait for the one encoding of the prompt.</summary>
    /// <param name="examples">The job's example queries (<see cref="EmbedExamples"/>), when its prompt has example
    /// lines; a plan is kept per set of examples, so two jobs with one prompt and different examples do not mix.</param>
    public DetectionPlan Plan(string model, string variant, LabelingPrompt prompt, LabelingOptions options, ExampleQueries? examples = null)
    {
        var detector = pool.Get(model, variant);
        var key = (model, variant, prompt.Text, options, examples);
        if (_plans.Count > 256)
        {
            _plans.Clear(); // plans are cheap to rebuild; this only bounds a long-running process
        }
        var lazy = _plans.GetOrAdd(key, _ => new Lazy<DetectionPlan>(() => DetectionPlan.Create(detector, prompt, options, examples)));
        try
        {
            var plan = lazy.Value;
            if (ReferenceEquals(plan.Detector, detector))
            {
                return plan;
            }
            // Made for a session the pool has since replaced.
            var fresh = new Lazy<DetectionPlan>(() => DetectionPlan.Create(detector, prompt, options, examples));
            return (_plans.TryUpdate(key, fresh, lazy) ? fresh : _plans[key]).Value;
        }
        catch
        {
            _plans.TryRemove(KeyValuePair.Create(key, lazy)); // a failed encoding is not kept: the next caller tries again
            throw;
        }
    }

    /// <summary>Queues the image behind those already queued; the workers take them in order, one each at a time.</summary>
    public Task<ImageDetections> DetectAsync(DetectionPlan plan, byte[] image, CancellationToken cancellationToken) =>
        workers.RunAsync(() => Detect(plan, image, cache, limits), cancellationToken);

    /// <summary>
    /// A consumer batch's images with the split form at <see cref="OwlDetector.ImageBatchSize"/> &gt; 1 (a GPU): each
    /// image's cache lookup, decode and preprocessing on the thread pool, then each group of up to that many decoded
    /// images in one run of the image encoder on an inference worker (while the next group decodes), then the class
    /// head and filters per image. The same boxes as <see cref="Detect"/> image by image. One outcome per image, in order.
    /// </summary>
    public async Task<IReadOnlyList<ImageOutcome>> DetectBatchAsync(DetectionPlan plan, IReadOnlyList<byte[]> images, CancellationToken cancellationToken)
    {
        var perRun = plan.Detector.ImageBatchSize;
        if (!plan.Detector.Model.IsSplit || perRun < 2)
        {
            throw new InvalidOperationException("DetectBatchAsync needs the split form and an image batch above 1; use DetectAsync");
        }
        var outcomes = new ImageOutcome[images.Count];
        var groups = Enumerable.Range(0, images.Count).Chunk(perRun);
        await Task.WhenAll(groups.Select(async group =>
        {
            var decoded = await Task.WhenAll(group.Select(i => Task.Run(() => LookUpOrDecode(plan, images[i], i, outcomes), cancellationToken))).ConfigureAwait(false);
            var toRun = decoded.OfType<Decoded>().ToArray();
            if (toRun.Length > 0)
            {
                await workers.RunAsync(() => { RunGroup(plan, toRun, outcomes); return true; }, cancellationToken).ConfigureAwait(false);
            }
        })).ConfigureAwait(false);
        return outcomes;
    }

    private sealed record Decoded(int Index, string? Key, PreparedImage Image, long Started);

    /// <summary>A cached image is scored here and needs no run (null); an image that cannot be read fails here (null).</summary>
    private Decoded? LookUpOrDecode(DetectionPlan plan, byte[] image, int index, ImageOutcome[] outcomes)
    {
        var started = Stopwatch.GetTimestamp();
        var key = CacheKey(plan, image, cache);
        if (FromCache(plan, key, cache, started) is { } cached)
        {
            outcomes[index] = new ImageOutcome(cached, null);
            return null;
        }
        try
        {
            return new Decoded(index, key, ImageDetection.Prepare(image, plan.Preprocessor, limits), started);
        }
        catch (ImageDecodeException e)
        {
            outcomes[index] = new ImageOutcome(null, e);
            return null;
        }
    }

    /// <summary>With the split form and a cache: what the image's encoding is kept under (model, preprocessing, bytes).</summary>
    private static string? CacheKey(DetectionPlan plan, byte[] image, ImageEmbeddingCache? cache) =>
        plan.Detector.Model.IsSplit && cache is { Enabled: true } ? ImageEmbeddingCache.Key(plan.Detector.EncodingIdentity, image) : null;

    /// <summary>A seen image: the class head and filters over its kept encoding, no decode, no image encoder.</summary>
    private static ImageDetections? FromCache(DetectionPlan plan, string? key, ImageEmbeddingCache? cache, long started)
    {
        if (key is null || !cache!.TryGet(key, out var hit, out var borrowed))
        {
            return null;
        }
        using var output = plan.Score(hit);
        var detections = Finish(plan, output, hit.Width, hit.Height, started, fromCache: true);
        if (borrowed)
        {
            cache.Release(hit);
        }
        return detections;
    }

    private void RunGroup(DetectionPlan plan, Decoded[] group, ImageOutcome[] outcomes)
    {
        try
        {
            var encoded = plan.Detector.EncodeBatch([.. group.Select(d => (ReadOnlyMemory<float>)d.Image.Pixels)]);
            for (var i = 0; i < group.Length; i++)
            {
                var d = group[i];
                outcomes[d.Index] = new ImageOutcome(FromEncoding(plan, d.Key, cache, d.Image.Width, d.Image.Height, encoded[i], d.Started), null);
            }
        }
        finally
        {
            foreach (var d in group)
            {
                d.Image.Dispose();
            }
        }
    }

    /// <summary>A fresh encoding: kept under its key, then the class head and filters.</summary>
    private static ImageDetections FromEncoding(DetectionPlan plan, string? key, ImageEmbeddingCache? cache, int width, int height,
        (float[] Boxes, ImageFeatures Features) encoding, long started)
    {
        if (key is not null)
        {
            cache!.Add(key, new CachedImage(width, height, encoding.Boxes, encoding.Features));
        }
        using var output = plan.Score(encoding.Boxes, encoding.Features);
        return Finish(plan, output, width, height, started, fromCache: false);
    }

    private static ImageDetections Finish(DetectionPlan plan, DetectorOutput output, int width, int height, long started, bool fromCache) =>
        new(ImageDetection.Filter(plan.Detector, output, width, height, plan.Prompt.Lines, plan.Options), width, height,
            Stopwatch.GetElapsedTime(started).TotalMilliseconds, fromCache);

    /// <summary>On the calling thread. Throws <see cref="ImageDecodeException"/> for an image that cannot be read.</summary>
    /// <param name="cache">With the split form, an image seen before (same bytes, same model) skips decoding and the
    /// image encoder; null or empty: no cache.</param>
    public static ImageDetections Detect(DetectionPlan plan, byte[] image, ImageEmbeddingCache? cache = null, DecodeLimits? limits = null)
    {
        var started = Stopwatch.GetTimestamp();
        var key = CacheKey(plan, image, cache);
        if (FromCache(plan, key, cache, started) is { } cached)
        {
            return cached;
        }
        var detector = plan.Detector;
        using var prepared = ImageDetection.Prepare(image, plan.Preprocessor, limits ?? new DecodeLimits());
        if (key is not null || plan.Combined is not null)
        {
            return FromEncoding(plan, key, cache, prepared.Width, prepared.Height, detector.EncodeImages(prepared.Pixels), started);
        }
        using var output = detector.Run(prepared.Pixels, plan.Queries);
        return Finish(plan, output, prepared.Width, prepared.Height, started, fromCache: false);
    }
}
