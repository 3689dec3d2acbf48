using MassTransit;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Jobs;

namespace Owlbox.Fetcher.Consumers;

/// <summary>Lists a job's samples, records each with its labels as they are now (the snapshot every write of this job
/// starts from), and asks for every sample not yet written. Resubmitting a job lands here again and skips what is done.</summary>
public sealed class ExpandJobConsumer(IJobStore store, IDatasetBackendFactory datasets) : IConsumer<LabelingJobSubmitted>
{
    public async Task Consume(ConsumeContext<LabelingJobSubmitted> context)
    {
        var (jobId, spec) = (context.Message.JobId, context.Message.Spec);
        var ct = context.CancellationToken;
        if (await JobCompletion.IsOverAsync(store, jobId, ct).ConfigureAwait(false))
        {
            return;
        }
        var backend = datasets.Open(spec.Dataset.Kind, spec.Dataset.Location);
        var selection = await backend.SelectAsync(spec.SampleIds, ct).ConfigureAwait(false);
        var pending = await store.RegisterSamplesAsync(jobId,
            selection.Found.Select(s => new SampleRegistration(s.Id, SnapshotJson.Serialize(s.Labels))).ToArray(),
            selection.Missing, ct).ConfigureAwait(false);
        foreach (var (id, problem) in selection.Missing)
        {
            await context.Publish(new SampleFailed(jobId, id, "fetch", problem), ct).ConfigureAwait(false);
        }
        foreach (var id in pending)
        {
            await context.Publish(new FetchSample(jobId, id), ct).ConfigureAwait(false);
        }
        if (pending.Count == 0)
        {
            await JobCompletion.TryFinishAsync(store, context, jobId, ct).ConfigureAwait(false);
        }
    }
}
