using MassTransit;

namespace Owlbox.Writer.Consumers;

/// <summary>Results are written in batches (one labels-file rewrite each), one batch at a time per writer: closed at
/// <see cref="WriterOptions.BatchMessageLimit"/> results or <see cref="WriterOptions.BatchTimeLimit"/> after the first.</summary>
public sealed class WriteSamplesConsumerDefinition(WriterOptions options) : ConsumerDefinition<WriteSamplesConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<WriteSamplesConsumer> consumerConfigurator, IRegistrationContext context) =>
        consumerConfigurator.Options<BatchOptions>(b => b
            .SetMessageLimit(options.BatchMessageLimit)
            .SetTimeLimit(options.BatchTimeLimit)
            .SetTimeLimitStart(BatchTimeLimitStart.FromFirst)
            .SetConcurrencyLimit(1));
}
