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

    /// <summary>Tokenizes (and with the split form encodes) the prompt's queries on <paramref name="detector"/>.</summary>
    public static DetectionPlan Create(OwlDetector detector, LabelingPrompt prompt, LabelingOptions options) =>
        new(detector, prompt, detector.PrepareQueries(prompt.Lines.Select(l => l.SearchText).ToArray()), options);
}

/// <summary>One image's outcome. <see cref="Milliseconds"/> is its own decoding and inference, not its wait in the
/// queue; <see cref="FromCache"/> when the embedding cache spared the decode and the image encoder.</summary>
public sealed record ImageDetections(FilterResult Result, int Width, int Height, double Milliseconds, bool FromCache);

/// <summary>
/// The one way an image becomes boxes, for the detector service, the tools and the tests alike: decode → embedding
/// cache lookup → session → post-processing → filters. The service runs it on the <see cref="InferenceWorkers"/>
/// (<see cref="DetectAsync"/>); the path itself is <see cref="Detect"/>.
/// </summary>
public sealed class DetectionEngine(DetectorPool pool, InferenceWorkers workers, ImageEmbeddingCache cache, DecodeLimits limits)
{
    private readonly ConcurrentDictionary<(string Model, string Variant, string Prompt, LabelingOptions Options), Lazy<DetectionPlan>> _plans = new();

    /// <summary>Loads the model's session (the pool keeps it): throws <see cref="Models.ModelException"/> when it
    /// cannot run here.</summary>
    public OwlDetector Load(string model, string variant) => pool.Get(model, variant);

    /// <summary>The plan for a model and prompt, built once while the pool keeps that model's session; callers asking
    /// at the same time (a warm-up at submission and the first images) wait for the one encoding of the prompt.</summary>
    public DetectionPlan Plan(string model, string variant, LabelingPrompt prompt, LabelingOptions options)
    {
        var detector = pool.Get(model, variant);
        var key = (model, variant, prompt.Text, options);
        if (_plans.Count > 256)
        {
            _plans.Clear(); // plans are cheap to rebuild; this only bounds a long-running process
        }
        var lazy = _plans.GetOrAdd(key, _ => new Lazy<DetectionPlan>(() => DetectionPlan.Create(detector, prompt, options)));
        try
        {
            var plan = lazy.Value;
            if (ReferenceEquals(plan.Detector, detector))
            {
                return plan;
            }
            // Made for a session the pool has since replaced.
            var fresh = new Lazy<DetectionPlan>(() => DetectionPlan.Create(detector, prompt, options));
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

    /// <summary>On the calling thread. Throws <see cref="ImageDecodeException"/> for an image that cannot be read.</summary>
    /// <param name="cache">With the split form, an image seen before (same bytes, same model) skips decoding and the
    /// image encoder; null or empty: no cache.</param>
    public static ImageDetections Detect(DetectionPlan plan, byte[] image, ImageEmbeddingCache? cache = null, DecodeLimits? limits = null)
    {
        var started = Stopwatch.GetTimestamp();
        var detector = plan.Detector;
        var key = detector.Model.IsSplit && cache is { Enabled: true } ? ImageEmbeddingCache.Key(detector.EncodingIdentity, image) : null;
        DetectorOutput output;
        int width, height;
        CachedImage? cached = null;
        if (key is not null && cache!.TryGet(key, out var hit, out var borrowed))
        {
            cached = hit;
            (width, height) = (cached.Width, cached.Height);
            output = OwlDetector.Score(cached, plan.Queries); // copies what it keeps
            if (borrowed)
            {
                cache.Release(cached);
            }
        }
        else
        {
            using var prepared = ImageDetection.Prepare(image, plan.Preprocessor, limits ?? new DecodeLimits());
            (width, height) = (prepared.Width, prepared.Height);
            if (key is not null)
            {
                var (boxes, features) = detector.EncodeImages(prepared.Pixels);
                cache!.Add(key, new CachedImage(width, height, boxes, features));
                output = OwlDetector.Score(boxes, features, plan.Queries);
            }
            else
            {
                output = detector.Run(prepared.Pixels, plan.Queries);
            }
        }
        using (output)
        {
            var result = ImageDetection.Filter(detector, output, width, height, plan.Prompt.Lines, plan.Options);
            return new ImageDetections(result, width, height, Stopwatch.GetElapsedTime(started).TotalMilliseconds, cached is not null);
        }
    }
}
