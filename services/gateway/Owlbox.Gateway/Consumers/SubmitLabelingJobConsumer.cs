using MassTransit;
using Owlbox.Contracts.V1;

namespace Owlbox.Gateway.Consumers;

/// <summary>The bus's way in, beside the HTTP API: the same <see cref="JobSubmitter"/> checks, records and starts the
/// job, and the answer is published for the sender to follow. A job that cannot run is an answer, not a fault: it is
/// never retried.</summary>
public sealed class SubmitLabelingJobConsumer(JobSubmitter submitter) : IConsumer<SubmitLabelingJob>
{
    public async Task Consume(ConsumeContext<SubmitLabelingJob> context)
    {
        var (jobId, spec) = (context.Message.JobId, context.Message.Spec);
        JobSubmitter.Accepted accepted;
        try
        {
            accepted = await submitter.SubmitAsync(jobId, spec, context.CancellationToken, context.Message.SealedProjectKey).ConfigureAwait(false);
        }
        catch (JobValidationException e)
        {
            await context.Publish(new LabelingJobRejected(jobId, e.Errors), context.CancellationToken).ConfigureAwait(false);
            return;
        }
        var model = accepted.Model;
        await context.Publish(new LabelingJobAccepted(jobId, accepted.Resumed, accepted.Samples, model.ModelId, model.TypeName),
            context.CancellationToken).ConfigureAwait(false);
    }
}
