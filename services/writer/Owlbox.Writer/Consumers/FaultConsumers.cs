using Owlbox.ServiceDefaults;
using MassTransit;
using Owlbox.Contracts.V1;
using Owlbox.Jobs;

namespace Owlbox.Writer.Consumers;

/// <summary>
/// When a stage has used up its retries, the bus moves the message to <c>&lt;queue&gt;_error</c> and publishes a
/// <see cref="Fault{T}"/>. These turn that into the sample's failure with its reason, so the job still ends and the
/// error queue is not the only record; unless the fault was the infrastructure's (<see cref="InfrastructureFaults"/>):
/// that sample is not at fault, so it stays pending for <c>owlbox jobs redrive</c> and the job shows as stalled.
/// </summary>
public sealed class FetchFaultConsumer : IConsumer<Fault<FetchSample>>
{
    public Task Consume(ConsumeContext<Fault<FetchSample>> context) =>
        FaultReason.FailSampleAsync(context, context.Message.Message.JobId, context.Message.Message.SampleId, Stage.Fetch);
}

public sealed class DetectFaultConsumer : IConsumer<Fault<ImageFetched>>
{
    public Task Consume(ConsumeContext<Fault<ImageFetched>> context) =>
        FaultReason.FailSampleAsync(context, context.Message.Message.JobId, context.Message.Message.SampleId, Stage.Detect);
}

public sealed class VerifyFaultConsumer : IConsumer<Fault<VerifySample>>
{
    public Task Consume(ConsumeContext<Fault<VerifySample>> context) =>
        FaultReason.FailSampleAsync(context, context.Message.Message.JobId, context.Message.Message.Detected.SampleId, Stage.Verify);
}

public sealed class WriteFaultConsumer : IConsumer<Fault<SampleDetected>>
{
    public Task Consume(ConsumeContext<Fault<SampleDetected>> context) =>
        FaultReason.FailSampleAsync(context, context.Message.Message.JobId, context.Message.Message.SampleId, Stage.Write);
}

/// <summary>A job whose dataset could not be listed ends at once with the reason.</summary>
public sealed class ExpandFaultConsumer(IJobStore store) : IConsumer<Fault<LabelingJobSubmitted>>
{
    public async Task Consume(ConsumeContext<Fault<LabelingJobSubmitted>> context)
    {
        var jobId = context.Message.Message.JobId;
        if (InfrastructureFaults.IsInfrastructure(context.Message))
        {
            return; // the dataset is fine; the job waits (stalled) for a redrive
        }
        if (await store.FailAsync(jobId, $"the dataset could not be listed: {FaultReason.Of(context.Message)}", context.CancellationToken).ConfigureAwait(false))
        {
            var job = await store.FindAsync(jobId, context.CancellationToken).ConfigureAwait(false);
            await context.Publish(new LabelingJobCompleted(jobId, job!.Status, job.Total ?? 0, job.Written, job.Failed)).ConfigureAwait(false);
        }
    }
}

internal static class FaultReason
{
    public static Task FailSampleAsync<T>(ConsumeContext<Fault<T>> context, Guid jobId, string sampleId, Stage stage)
        where T : class =>
        InfrastructureFaults.IsInfrastructure(context.Message)
            ? Task.CompletedTask
            : context.Publish(new SampleFailed(jobId, sampleId, stage, Of(context.Message)));

    public static string Of(Fault fault) =>
        fault.Exceptions.FirstOrDefault() is { } e ? $"{e.Message} (after retries)" : "failed after retries";
}
