using System.Threading.Channels;
using MassTransit;
using Owlbox.Contracts.V1;

namespace Owlbox.Cli;

/// <summary>Job events seen by this process, for the CLI to print as they happen.</summary>
public sealed class JobEvents
{
    private readonly Channel<object> _channel = Channel.CreateUnbounded<object>();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ChannelReader<object> Reader => _channel.Reader;

    /// <summary>Completes when the bus and every receive endpoint, this command's event queue included, are ready (its
    /// bindings made); faults when the bus cannot start. A job sent before then can publish events that no queue of this
    /// command is bound to yet: on a broker a fast job's completion was lost that way, and the follower waited forever.</summary>
    public Task Ready => _ready.Task;

    /// <summary>Tells <see cref="Ready"/> what the bus reports: MassTransit's own signal that the bus and all its
    /// receive endpoints are ready.</summary>
    internal sealed class ReadyObserver(JobEvents events) : IBusObserver
    {
        public void PostCreate(IBus bus)
        {
        }

        public void CreateFaulted(Exception exception) => events._ready.TrySetException(exception);

        public Task PreStart(IBus bus) => Task.CompletedTask;

        public async Task PostStart(IBus bus, Task<BusReady> busReady)
        {
            try
            {
                await busReady.ConfigureAwait(false);
                events._ready.TrySetResult();
            }
            catch (Exception e)
            {
                events._ready.TrySetException(e);
            }
        }

        public Task StartFaulted(IBus bus, Exception exception)
        {
            events._ready.TrySetException(exception);
            return Task.CompletedTask;
        }

        public Task PreStop(IBus bus) => Task.CompletedTask;

        public Task PostStop(IBus bus) => Task.CompletedTask;

        public Task StopFaulted(IBus bus, Exception exception) => Task.CompletedTask;
    }

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
