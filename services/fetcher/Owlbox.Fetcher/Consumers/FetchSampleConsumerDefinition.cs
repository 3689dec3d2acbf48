using MassTransit;

namespace Owlbox.Fetcher.Consumers;

/// <summary>Images are read <see cref="FetcherOptions.Concurrency"/> at a time per fetcher (I/O bound: Studio calls
/// or a shared volume).</summary>
public sealed class FetchSampleConsumerDefinition(FetcherOptions options) : ConsumerDefinition<FetchSampleConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<FetchSampleConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.ConcurrentMessageLimit = options.Concurrency;
}
