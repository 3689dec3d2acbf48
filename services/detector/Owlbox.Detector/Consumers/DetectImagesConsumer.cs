using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using Owlbox.Contracts.V1;
using Owlbox.Detection.Imaging;
using Owlbox.Detection.Inference;
using Owlbox.Jobs;
using Owlbox.Labeling;
using Owlbox.Labeling.Filtering;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Detector.Consumers;

/// <summary>
/// Takes fetched images in batches, groups them by job (one job = one model and prompt set), tokenizes each job's
/// prompt once, and hands each image to the <see cref="InferenceWorkers"/>, which decode, run and filter it; then
/// publishes each sample's boxes. A bad image becomes that sample's failure; the batch goes on.
/// </summary>
public sealed class DetectImagesConsumer(IJobStore store, JobSpecCache specs, DetectorPool pool, DetectorServiceOptions options, ImageEmbeddingCache cache,
    OneProcessGates gates, InferenceWorkers workers)
    : IConsumer<Batch<ImageFetched>>
{
    private static readonly ConcurrentDictionary<(Guid, OwlDetector), JobPlan> s_plans = new();

    private sealed record JobPlan(LabelingPrompt Prompt, QueryTokens Queries, LabelingOptions Options);

    public async Task Consume(ConsumeContext<Batch<ImageFetched>> context)
    {
        OwlboxTelemetry.BatchSize.Record(context.Message.Length, new KeyValuePair<string, object?>("stage", "detect"));
        // Each image leaves the in-flight count when a worker starts it, so the fetcher reads one image per image run,
        // spread over the batch, instead of a burst beside the session at every batch boundary.
        var taken = 0;
        try
        {
            await JobBatches.ForEachLiveJobAsync(context.Message, m => m.JobId, store, specs,
                (jobId, spec, items) => DetectAsync(context, jobId, spec, items, () =>
                {
                    Interlocked.Increment(ref taken);
                    gates.Images.Leave(1);
                }), context.CancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Images of jobs that are over, or not reached because the batch failed, leave too.
            gates.Images.Leave(context.Message.Length - Volatile.Read(ref taken));
        }
    }

    private async Task DetectAsync(ConsumeContext context, Guid jobId, JobSpec spec, IReadOnlyList<ImageFetched> items, Action taken)
    {
        var detector = pool.Get(spec.Model, spec.ModelVariant);
        if (s_plans.Count > 256)
        {
            s_plans.Clear(); // plans are cheap to rebuild; this only bounds a long-running process
        }
        var plan = s_plans.GetOrAdd((jobId, detector), _ =>
        {
            var prompt = LabelingPrompt.Parse(spec.Prompt, detector.CountTokens, detector.Model.MaxTextTokens);
            return new JobPlan(prompt, detector.PrepareQueries(prompt.Lines.Select(l => l.SearchText).ToArray()), spec.Options.ToLabelingOptions());
        });
        var preprocessor = new ImagePreprocessor(detector.Model);
        // All of the batch's images are queued at once; the workers take them in order, one per worker at a time.
        await Task.WhenAll(items.Select(m => DetectOneAsync(context, jobId, m, detector, plan, preprocessor, taken))).ConfigureAwait(false);
    }

    private async Task DetectOneAsync(ConsumeContext context, Guid jobId, ImageFetched message, OwlDetector detector, JobPlan plan,
        ImagePreprocessor preprocessor, Action taken)
    {
        var ct = context.CancellationToken;
        var bytes = await message.Image.Value.ConfigureAwait(false);
        Detected detected;
        try
        {
            detected = await workers.RunAsync(() =>
            {
                taken();
                return Detect(bytes, detector, plan, preprocessor);
            }, ct).ConfigureAwait(false);
        }
        catch (ImageDecodeException e)
        {
            await context.Publish(new SampleFailed(jobId, message.SampleId, "detect", e.Message), ct).ConfigureAwait(false);
            return;
        }
        OwlboxTelemetry.DetectDuration.Record(detected.Milliseconds, new KeyValuePair<string, object?>("model", detector.Model.ModelId));
        var objects = detected.Result.Kept.Select(d => new DetectedObject(d.Label, d.Box.X, d.Box.Y, d.Box.Width, d.Box.Height,
            Math.Round(d.Score, 6), d.Line.LineNumber, d.Line.SearchText, d.Line.MinConfidence)).ToArray();
        await context.Publish(new SampleDetected(jobId, message.SampleId, detector.Model.ModelId, detector.Model.TypeName,
            detected.Width, detected.Height, objects, detected.Result.Rejected.Count, detected.Milliseconds), ct).ConfigureAwait(false);
    }

    /// <summary>On a worker thread: decode (unless the embedding cache has the image), run, filter.</summary>
    private Detected Detect(byte[] bytes, OwlDetector detector, JobPlan plan, ImagePreprocessor preprocessor)
    {
        var started = Stopwatch.GetTimestamp();
        // With the split form, an image seen before (same bytes, same model) skips decoding and the image encoder.
        var key = detector.Model.IsSplit && cache.MaxBytes > 0 ? ImageEmbeddingCache.Key(detector.Model.ImageEncoderPath!, bytes) : null;
        DetectorOutput output;
        int width, height;
        if (key is not null && cache.TryGet(key, out var cached))
        {
            OwlboxTelemetry.EmbeddingCacheHits.Add(1);
            (width, height) = (cached.Width, cached.Height);
            output = OwlDetector.Score(cached.Boxes, cached.Features, plan.Queries);
        }
        else
        {
            using var image = Decode(bytes, preprocessor);
            (width, height) = (image.Width, image.Height);
            if (key is not null)
            {
                var (boxes, features) = detector.EncodeImages(image.Pixels);
                cache.Add(key, new CachedImage(width, height, boxes, features));
                output = OwlDetector.Score(boxes, features, plan.Queries);
            }
            else
            {
                output = detector.Run(image.Pixels, plan.Queries);
            }
        }
        FilterResult result;
        using (output)
        {
            result = ImageDetection.Filter(detector, output, width, height, plan.Prompt.Lines, plan.Options);
        }
        return new Detected(result, width, height, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private PreparedImage Decode(byte[] bytes, ImagePreprocessor preprocessor)
    {
        try
        {
            return ImageDetection.Prepare(bytes, preprocessor, options.DecodeLimits);
        }
        catch (Exception e) when (e is not ImageDecodeException and not OutOfMemoryException)
        {
            // Whatever a hostile file provokes in a decoder fails that sample, never the batch.
            throw new ImageDecodeException($"cannot decode the image ({e.GetType().Name}: {e.Message})", e);
        }
    }

    /// <summary>One image's outcome; its time is its own decoding and inference, not its wait in the queue.</summary>
    private sealed record Detected(FilterResult Result, int Width, int Height, double Milliseconds);
}
