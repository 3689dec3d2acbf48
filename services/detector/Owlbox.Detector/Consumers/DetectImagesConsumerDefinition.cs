using MassTransit;

namespace Owlbox.Detector.Consumers;

/// <summary>One batch at a time per detector (one ONNX Runtime session per process, so a model swap never meets a
/// running batch); inside a batch the inference workers keep ConcurrentRuns images in the session.</summary>
public sealed class DetectImagesConsumerDefinition(DetectorServiceOptions options) : ConsumerDefinition<DetectImagesConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<DetectImagesConsumer> consumerConfigurator, IRegistrationContext context) =>
        consumerConfigurator.Options<BatchOptions>(b => b
            .SetMessageLimit(options.BatchMessageLimit)
            .SetTimeLimit(options.BatchTimeLimit)
            .SetConcurrencyLimit(1));
}
