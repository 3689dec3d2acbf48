using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using Owlbox.Contracts.V1;
using Owlbox.Detection.Imaging;
using Owlbox.Detection.Inference;
using Owlbox.Jobs;
using Owlbox.Labeling;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Detector.Consumers;

/// <summary>
/// Takes fetched images in batches, groups them by job (one job = one model and prompt set), tokenizes each job's
/// prompt once, decodes and preprocesses the next image on a worker thread while the session runs this one,
/// filters, and publishes each sample's boxes. A bad image becomes that sample's failure; the batch goes on.
/// </summary>
public sealed class DetectImagesConsumer(IJobStore store, JobSpecCache specs, DetectorPool pool, DetectorServiceOptions options, ImageEmbeddingCache cache,
    ImagesInFlight inFlight)
    : IConsumer<Batch<ImageFetched>>
{
    private static readonly ConcurrentDictionary<(Guid, OwlDetector), JobPlan> s_plans = new();

    private sealed record JobPlan(LabelingPrompt Prompt, QueryTokens Queries, LabelingOptions Options);

    public async Task Consume(ConsumeContext<Batch<ImageFetched>> context)
    {
        // Each image leaves the in-flight count when its turn comes, so the fetcher reads one image per image run,
        // spread over the batch, instead of a burst beside the session at every batch boundary.
        var taken = 0;
        try
        {
            await JobBatches.ForEachLiveJobAsync(context.Message, m => m.JobId, store, specs,
                (jobId, spec, items) => DetectAsync(context, jobId, spec, items, () =>
                {
                    taken++;
                    inFlight.Leave(1);
                }), context.CancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Images of jobs that are over, or not reached because the batch failed, leave too.
            inFlight.Leave(context.Message.Length - taken);
        }
    }

    private async Task DetectAsync(ConsumeContext context, Guid jobId, JobSpec spec, IReadOnlyList<ImageFetched> items, Action taken)
    {
        var ct = context.CancellationToken;
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
        // With the split form, an image seen before (same bytes, same model) skips decoding and the image encoder.
        var cacheModel = detector.Model.IsSplit && cache.MaxBytes > 0 ? detector.Model.ImageEncoderPath : null;
        Task<Prepared> Prepare(ImageFetched m) => Task.Run(async () =>
        {
            var started = Stopwatch.GetTimestamp();
            var bytes = await m.Image.Value.ConfigureAwait(false);
            var key = cacheModel is null ? null : ImageEmbeddingCache.Key(cacheModel, bytes);
            if (key is not null && cache.TryGet(key, out var cached))
            {
                return new Prepared(null, cached, key, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            var image = ImageDetection.Prepare(bytes, preprocessor, options.DecodeLimits);
            return new Prepared(image, null, key, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }, ct);
        // Images are prepared a bounded number ahead of the session: on a CPU-bound machine, decoding a whole batch at
        // once beside the session stalls its threads far longer than the decoding itself takes.
        var prepared = new Task<Prepared>?[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            for (var j = i; j < Math.Min(items.Count, i + 1 + options.PrepareAhead); j++)
            {
                prepared[j] ??= Prepare(items[j]);
            }
            taken();
            var sampleId = items[i].SampleId;
            Prepared p;
            try
            {
                p = await prepared[i]!.ConfigureAwait(false);
            }
            catch (ImageDecodeException e)
            {
                await context.Publish(new SampleFailed(jobId, sampleId, "detect", e.Message), ct).ConfigureAwait(false);
                continue;
            }
            catch (Exception e) when (e is not OperationCanceledException and not MessageDataException)
            {
                // Whatever a hostile file provokes in a decoder fails that sample, never the batch.
                await context.Publish(new SampleFailed(jobId, sampleId, "detect", $"cannot decode the image ({e.GetType().Name}: {e.Message})"), ct).ConfigureAwait(false);
                continue;
            }
            using var image = p.Image;
            var detectStarted = Stopwatch.GetTimestamp();
            var encoded = p.Cached;
            if (encoded is not null)
            {
                OwlboxTelemetry.EmbeddingCacheHits.Add(1);
            }
            if (encoded is null && p.CacheKey is not null)
            {
                var (boxes, features) = detector.EncodeImages(p.Image!.Pixels);
                encoded = new CachedImage(p.Image.Width, p.Image.Height, boxes, features);
                cache.Add(p.CacheKey, encoded);
            }
            var (width, height) = encoded is null ? (p.Image!.Width, p.Image.Height) : (encoded.Width, encoded.Height);
            var output = encoded is null ? detector.Run(p.Image!.Pixels, plan.Queries) : OwlDetector.Score(encoded.Boxes, encoded.Features, plan.Queries);
            var result = ImageDetection.Filter(detector, output, width, height, plan.Prompt.Lines, plan.Options);
            // A sample's time is its own decoding plus its own inference, not the wait for earlier images.
            var milliseconds = p.DecodeMs + Stopwatch.GetElapsedTime(detectStarted).TotalMilliseconds;
            OwlboxTelemetry.DetectDuration.Record(milliseconds, new KeyValuePair<string, object?>("model", detector.Model.ModelId));
            var objects = result.Kept.Select(d => new DetectedObject(d.Label, d.Box.X, d.Box.Y, d.Box.Width, d.Box.Height,
                Math.Round(d.Score, 6), d.Line.LineNumber, d.Line.SearchText, d.Line.MinConfidence)).ToArray();
            await context.Publish(new SampleDetected(jobId, sampleId, detector.Model.ModelId, detector.Model.TypeName,
                width, height, objects, result.Rejected.Count, milliseconds), ct).ConfigureAwait(false);
        }
    }

    /// <summary>A fetched image made ready: decoded and preprocessed, or found already encoded.</summary>
    private sealed record Prepared(PreparedImage? Image, CachedImage? Cached, string? CacheKey, double DecodeMs);
}
