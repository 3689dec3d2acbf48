using System.Threading.Channels;
using MassTransit;
using Owlbox.Contracts.V1;

namespace Owlbox.Cli;

/// <summary>Job events seen by this process, for the CLI to print as they happen.</summary>
public sealed class JobEvents
{
    private readonly Channel<object> _channel = Channel.CreateUnbounded<object>();

    public ChannelReader<object> Reader => _channel.Reader;

    public ValueTask WriteAsync(object message, CancellationToken cancellationToken) => _channel.Writer.WriteAsync(message, cancellationToken);
}

/// <summary>Subscribes to the job events the CLI follows. One message at a time, so they arrive in publish order.</summary>
public sealed class JobEventsForwarder(JobEvents events) : IConsumer<SampleWritten>, IConsumer<SampleFailed>, IConsumer<LabelingJobCompleted>,
    IConsumer<LabelingJobAccepted>, IConsumer<LabelingJobRejected>
{
    public Task Consume(ConsumeContext<LabelingJobAccepted> context) => events.WriteAsync(context.Message, context.CancellationToken).AsTask();

    public Task Consume(ConsumeContext<LabelingJobRejected> context) => events.WriteAsync(context.Message, context.CancellationToken).AsTask();

    public Task Consume(ConsumeContext<SampleWritten> context) => events.WriteAsync(context.Message, context.CancellationToken).AsTask();

    public Task Consume(ConsumeContext<SampleFailed> context) => events.WriteAsync(context.Message, context.CancellationToken).AsTask();

    public Task Consume(ConsumeContext<LabelingJobCompleted> context) => events.WriteAsync(context.Message, context.CancellationToken).AsTask();
}
