using Owlbox.Pipeline;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Jobs;

namespace Owlbox.Fetcher.Consumers;

/// <summary>
/// Lists a job's samples, records each, and asks for every sample not yet written. Resubmitting a job lands here
/// again and skips what is done. No labels are kept from here: the writer reads each sample's labels when it writes.
/// </summary>
/// <remarks>
/// The samples are read from the store a page at a time and each FetchSample is published straight to the bus
/// (not through the consume context's outbox, which would hold every message until the end): on RabbitMQ they stream
/// to the queue, and in the one-process mode each waits for room (<see cref="OneProcessGates.Samples"/>, in the bus pipeline), so the
/// process never holds a message per sample of a large dataset. A retry after a failure part-way asks again for what
/// is still pending; a sample asked for twice is written once (the writer skips what its job already wrote).
/// </remarks>
public sealed class ExpandJobConsumer(IJobStore store, JobPlans plans, IDatasetBackendFactory datasets, IBus bus,
    IHostApplicationLifetime lifetime) : IConsumer<LabelingJobSubmitted>
{
    private const int PageSize = 256;

    public async Task Consume(ConsumeContext<LabelingJobSubmitted> context)
    {
        var (jobId, spec) = (context.Message.JobId, context.Message.Spec);
        var ct = context.CancellationToken;
        if (await JobCompletion.IsOverAsync(store, jobId, ct).ConfigureAwait(false))
        {
            return;
        }
        var credential = (await plans.GetAsync(jobId, ct).ConfigureAwait(false)).Credential; // the project key the job brought, if any
        // Names only: the labels are the writer's to read, when it writes.
        var selection = await datasets.Open(spec.Dataset.Kind, spec.Dataset.Location, credential).SelectAsync(spec.SampleIds, ct).ConfigureAwait(false);
        var pending = await store.RegisterSamplesAsync(jobId,
            selection.Found.Select(id => new SampleRegistration(id)).ToArray(),
            selection.Missing, ct).ConfigureAwait(false);
        foreach (var (id, problem) in selection.Missing)
        {
            await context.Publish(new SampleFailed(jobId, id, Stage.Fetch, problem), ct).ConfigureAwait(false);
        }
        if (pending == 0)
        {
            await JobCompletion.TryFinishAsync(store, context, jobId, ct).ConfigureAwait(false);
            return;
        }
        // Stopping the process ends a publish's wait for room: the fetchers that would make it are stopping too.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
        PendingSample? after = null;
        while (await store.PendingSamplesAsync(jobId, after, PageSize, ct).ConfigureAwait(false) is { Count: > 0 } page)
        {
            if (after is not null && await JobCompletion.IsOverAsync(store, jobId, ct).ConfigureAwait(false))
            {
                return; // cancelled while paging: the rest is never asked for
            }
            foreach (var sample in page)
            {
                await bus.Publish(new FetchSample(jobId, sample.SampleId), stopping.Token).ConfigureAwait(false);
            }
            after = page[^1];
        }
    }
}
