using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Owlbox.Detector.Consumers;

namespace Owlbox.Detector;

/// <summary>The detector role: consumes ImageFetched (batched), publishes SampleDetected, or SampleFailed for an image
/// that cannot be decoded. Scales on the <c>detect-images</c> queue (KEDA), one GPU per replica.</summary>
public static class DetectorRegistration
{
    public static IServiceCollection AddDetector(this IServiceCollection services, IBusRegistrationConfigurator bus, DetectorServiceOptions options)
    {
        services.AddSingleton(options);
        bus.AddConsumer<DetectImagesConsumer, DetectImagesConsumerDefinition>();
        return services;
    }
}
