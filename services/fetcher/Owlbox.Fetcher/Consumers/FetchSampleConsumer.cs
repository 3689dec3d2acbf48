using MassTransit;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Jobs;

namespace Owlbox.Fetcher.Consumers;

/// <summary>Reads one image and hands it to the detector by claim check. A missing or oversized file fails the sample;
/// an I/O error is thrown, so the bus retries it.</summary>
public sealed class FetchSampleConsumer(IJobStore store, JobSpecCache specs, IDatasetBackendFactory datasets,
    IMessageDataRepository images, FetcherOptions options, OneProcessGates gates) : IConsumer<FetchSample>
{
    public async Task Consume(ConsumeContext<FetchSample> context)
    {
        try
        {
            await FetchAsync(context).ConfigureAwait(false);
        }
        finally
        {
            gates.Samples.Leave(1); // the expansion may publish the next sample
        }
    }

    private async Task FetchAsync(ConsumeContext<FetchSample> context)
    {
        var (jobId, sampleId) = (context.Message.JobId, context.Message.SampleId);
        var ct = context.CancellationToken;
        if (await JobCompletion.IsOverAsync(store, jobId, ct).ConfigureAwait(false))
        {
            return;
        }
        var spec = await specs.GetAsync(jobId, ct).ConfigureAwait(false);
        // Room is taken before the image is read, so an image is read only when a detector will soon want it.
        var inFlight = gates.Images;
        await inFlight.EnterAsync(ct).ConfigureAwait(false);
        var sent = false;
        try
        {
            byte[] bytes;
            try
            {
                bytes = await datasets.Open(spec.Dataset.Kind, spec.Dataset.Location).ReadImageAsync(sampleId, options.MaxImageBytes, ct).ConfigureAwait(false);
            }
            catch (DatasetException e)
            {
                await context.Publish(new SampleFailed(jobId, sampleId, "fetch", e.Message), ct).ConfigureAwait(false);
                return;
            }
            var image = await images.PutBytes(bytes, options.ImageTimeToLive, ct).ConfigureAwait(false);
            await context.Publish(new ImageFetched(jobId, sampleId, image), ct).ConfigureAwait(false);
            sent = true;
        }
        finally
        {
            if (!sent)
            {
                inFlight.Leave(1);
            }
        }
    }
}
