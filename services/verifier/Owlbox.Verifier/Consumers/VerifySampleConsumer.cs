using MassTransit;
using Owlbox.Contracts.V1;
using Owlbox.Detection.Imaging;
using Owlbox.Jobs;
using Owlbox.Labeling.Boxes;
using Owlbox.Pipeline;
using Owlbox.ServiceDefaults;
using Owlbox.Verification;

namespace Owlbox.Verifier.Consumers;

/// <summary>
/// Shows a sample's detections scored below the job's verify-below to the job's vision model and passes the sample on
/// to the writer with the verdicts applied (<see cref="VerifiedSample"/>). Answers are cached as they arrive, so a
/// sample delivered again (its verifier killed mid-sample, a retry) asks the model nothing it was asked before; a
/// box the model could not answer for fails its sample alone, its boxes unchanged.
/// </summary>
public sealed class VerifySampleConsumer(IJobStore store, JobPlans plans, JobVerifiers verifiers) : IConsumer<VerifySample>
{
    public async Task Consume(ConsumeContext<VerifySample> context)
    {
        var m = context.Message;
        var ct = context.CancellationToken;
        if (await JobCompletion.IsOverAsync(store, m.JobId, ct).ConfigureAwait(false))
        {
            return;
        }
        var job = await plans.GetAsync(m.JobId, ct).ConfigureAwait(false);
        string failure;
        try
        {
            var verifier = verifiers.For(job);
            var bytes = await m.Image.Value.ConfigureAwait(false);
            var boxes = m.Detected.Objects.Select(o => new VerifyBox(o.Label, new Verification.PixelBox(o.X, o.Y, o.Width, o.Height), o.Score)).ToArray();
            var verification = await verifier.VerifyAsync(bytes, boxes, ct).ConfigureAwait(false);
            OwlboxTelemetry.LlmCalls.Add(verification.Calls);
            OwlboxTelemetry.LlmCacheHits.Add(verification.CacheHits);
            var (result, why) = VerifiedSample.Apply(m.Detected, verification);
            if (result is not null)
            {
                await context.Publish(result, ct).ConfigureAwait(false);
                return;
            }
            failure = why!;
        }
        catch (VerifierSetupException e)
        {
            failure = e.Message;
        }
        catch (LlmCallException e) when (e.IsSetupError)
        {
            failure = e.Message; // a wrong key or model: every call would fail alike, so no retry
        }
        catch (ImageDecodeException e)
        {
            failure = e.Message;
        }
        await context.Publish(new SampleFailed(m.JobId, m.Detected.SampleId, Stage.Verify, failure), ct).ConfigureAwait(false);
    }
}
