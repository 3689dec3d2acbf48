using MassTransit;

namespace Owlbox.Verifier.Consumers;

/// <summary>Samples verified at once per replica: as many as the model calls allowed in flight, so the queue, not
/// this process, holds the rest.</summary>
public sealed class VerifySampleConsumerDefinition(VerifierServiceOptions options) : ConsumerDefinition<VerifySampleConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<VerifySampleConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.ConcurrentMessageLimit = options.Concurrency;
}
