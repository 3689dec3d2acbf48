using MassTransit;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Jobs;
using Owlbox.Pipeline;

namespace Owlbox.Fetcher.Consumers;

/// <summary>Reads one image and hands it to the detector (inside the message, or by claim check when large). A
/// missing or oversized file fails the sample; an I/O error is thrown, so the bus retries it. In the one-process mode
/// the image waits for room before it is queued (<see cref="OneProcessGates"/>, in the bus pipeline).</summary>
public sealed class FetchSampleConsumer(IJobStore store, JobPlans plans, IDatasetBackendFactory datasets,
    IMessageDataRepository images, FetcherOptions options) : IConsumer<FetchSample>
{
    public async Task Consume(ConsumeContext<FetchSample> context)
    {
        var (jobId, sampleId) = (context.Message.JobId, context.Message.SampleId);
        var ct = context.CancellationToken;
        if (await JobCompletion.IsOverAsync(store, jobId, ct).ConfigureAwait(false))
        {
            return;
        }
        var job = await plans.GetAsync(jobId, ct).ConfigureAwait(false);
        byte[] bytes;
        try
        {
            bytes = await job.OpenDataset(datasets).ReadImageAsync(sampleId, options.MaxImageBytes, ct).ConfigureAwait(false);
        }
        catch (DatasetException e)
        {
            await context.Publish(new SampleFailed(jobId, sampleId, Stage.Fetch, e.Message), ct).ConfigureAwait(false);
            return;
        }
        var image = await images.PutBytes(bytes, options.ImageTimeToLive, ct).ConfigureAwait(false);
        await context.Publish(new ImageFetched(jobId, sampleId, image), ct).ConfigureAwait(false);
    }
}
