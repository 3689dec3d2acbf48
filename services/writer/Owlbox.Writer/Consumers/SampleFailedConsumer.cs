using Owlbox.Pipeline;
using Owlbox.ServiceDefaults;
using MassTransit;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Datasets.Proposals;
using Owlbox.Jobs;

namespace Owlbox.Writer.Consumers;

/// <summary>The one place a sample is recorded as failed, whichever stage failed it (fault consumers forward here).
/// A preview job also lists the failure in its proposal set.</summary>
public sealed class SampleFailedConsumer(IJobStore store, JobPlans plans, IDatasetBackendFactory datasets) : IConsumer<SampleFailed>
{
    public async Task Consume(ConsumeContext<SampleFailed> context)
    {
        var m = context.Message;
        var ct = context.CancellationToken;
        if (await store.MarkFailedAsync(m.JobId, m.SampleId, m.Reason, ct).ConfigureAwait(false))
        {
            OwlboxTelemetry.SamplesFailed.Add(1, new KeyValuePair<string, object?>("stage", m.Stage.ToName()));
            var job = await plans.GetAsync(m.JobId, ct).ConfigureAwait(false);
            var spec = job.Spec;
            if (spec.ProposeJobId is { } proposeId)
            {
                await job.OpenDataset(datasets).WriteProposalsAsync(
                    new ProposalHeader(proposeId, spec.Model, "", spec.Prompt, spec.Options.DeleteExisting),
                    [], [new FailedSample(m.SampleId, m.Reason)], ct).ConfigureAwait(false);
            }
        }
        await JobCompletion.TryFinishAsync(store, context, m.JobId, ct,
            async token => await (await plans.GetAsync(m.JobId, token).ConfigureAwait(false)).OpenDataset(datasets).FlushAsync(token).ConfigureAwait(false)).ConfigureAwait(false);
    }
}
