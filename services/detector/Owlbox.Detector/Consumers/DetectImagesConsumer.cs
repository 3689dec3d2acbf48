using MassTransit;
using Owlbox.Contracts.V1;
using Owlbox.Detection.Imaging;
using Owlbox.Detection.Inference;
using Owlbox.Jobs;
using Owlbox.Pipeline;
using Owlbox.ServiceDefaults;

namespace Owlbox.Detector.Consumers;

/// <summary>
/// Consumes fetched images in batches and publishes each sample's boxes (<see cref="SampleDetected"/>), or its
/// failure when the image cannot be read (<see cref="SampleFailed"/>; the batch goes on). All the work is the
/// <see cref="DetectionEngine"/>'s; this adapts it to the bus. Retries and batch sizes:
/// <see cref="DetectImagesConsumerDefinition"/>.
/// </summary>
public sealed class DetectImagesConsumer(IJobStore store, JobPlans plans, DetectionEngine engine, IMessageDataRepository images, DetectorServiceOptions options,
    JobExampleQueries examples) : IConsumer<Batch<ImageFetched>>
{
    public Task Consume(ConsumeContext<Batch<ImageFetched>> context)
    {
        OwlboxTelemetry.BatchSize.Record(context.Message.Length, new KeyValuePair<string, object?>("stage", Stage.Detect.ToName()));
        return JobBatches.ForEachLiveJobAsync(context.Message, m => m.JobId, store, plans, async (job, images) =>
        {
            ExampleQueries? queries;
            try
            {
                queries = await examples.GetAsync(job, context.CancellationToken).ConfigureAwait(false);
            }
            catch (ExampleException e)
            {
                // The job's examples cannot serve (an example image gone since submission): no image can be scored.
                await Task.WhenAll(images.Select(m => context.Publish(new SampleFailed(m.JobId, m.SampleId, Stage.Detect, e.Message), context.CancellationToken))).ConfigureAwait(false);
                return;
            }
            var plan = engine.Plan(job.Spec.Model, job.Spec.ModelVariant, job.Prompt, job.Options, queries);
            if (plan.Detector.Model.IsSplit && plan.Detector.ImageBatchSize > 1)
            {
                await DetectInRunsAsync(context, job, plan, images).ConfigureAwait(false); // a device: several images per session run
                return;
            }
            // All of the batch's images are queued at once; the engine's workers take them in order.
            await Task.WhenAll(images.Select(m => DetectAsync(context, job, plan, m))).ConfigureAwait(false);
        }, context.CancellationToken);
    }

    private async Task DetectInRunsAsync(ConsumeContext context, JobPlan job, DetectionPlan plan, IReadOnlyList<ImageFetched> images)
    {
        var bytes = await Task.WhenAll(images.Select(m => m.Image.Value)).ConfigureAwait(false);
        var outcomes = await engine.DetectBatchAsync(plan, bytes, context.CancellationToken).ConfigureAwait(false);
        for (var i = 0; i < images.Count; i++)
        {
            await PublishAsync(context, job, plan, images[i], bytes[i], outcomes[i]).ConfigureAwait(false);
        }
    }

    private async Task DetectAsync(ConsumeContext context, JobPlan job, DetectionPlan plan, ImageFetched message)
    {
        var bytes = await message.Image.Value.ConfigureAwait(false);
        ImageOutcome outcome;
        try
        {
            outcome = new ImageOutcome(await engine.DetectAsync(plan, bytes, context.CancellationToken).ConfigureAwait(false), null);
        }
        catch (ImageDecodeException e)
        {
            outcome = new ImageOutcome(null, e);
        }
        await PublishAsync(context, job, plan, message, bytes, outcome).ConfigureAwait(false);
    }

    private async Task PublishAsync(ConsumeContext context, JobPlan job, DetectionPlan plan, ImageFetched message, byte[] bytes, ImageOutcome outcome)
    {
        var ct = context.CancellationToken;
        if (outcome.Detections is not { } detected)
        {
            await context.Publish(new SampleFailed(message.JobId, message.SampleId, Stage.Detect, outcome.Failure!.Message), ct).ConfigureAwait(false);
            return;
        }
        var model = plan.Detector.Model;
        OwlboxTelemetry.DetectDuration.Record(detected.Milliseconds, new KeyValuePair<string, object?>("model", model.ModelId));
        if (detected.FromCache)
        {
            OwlboxTelemetry.EmbeddingCacheHits.Add(1);
        }
        var result = new SampleDetected(message.JobId, message.SampleId, model.ModelId, model.TypeName, detected.Width, detected.Height,
            detected.Result.Kept.Select(d => d.ToContract()).ToArray(), detected.Result.Rejected.Count, detected.Milliseconds);
        if (job.Spec.Verification is { } verify && result.Objects.Any(o => o.Score < verify.VerifyBelow))
        {
            // To the verifier with its image (for the crops); every other result goes straight to the writer, so a job
            // without verification, or a sample whose boxes are all trusted, costs no extra hop.
            var image = await images.PutBytes(bytes, options.ImageTimeToLive, ct).ConfigureAwait(false);
            await context.Publish(new VerifySample(message.JobId, result, image), ct).ConfigureAwait(false);
            return;
        }
        await context.Publish(result, ct).ConfigureAwait(false);
    }
}
