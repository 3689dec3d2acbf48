using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Owlbox.Detection.Inference;
using Owlbox.Detector.Consumers;
using Owlbox.Models;

namespace Owlbox.Detector;

/// <summary>The detector role: consumes ImageFetched (batched), publishes SampleDetected, or SampleFailed for an image
/// that cannot be decoded. Scales on the <c>detect-images</c> queue (KEDA), one GPU per replica. Needs a
/// <see cref="ModelCatalog"/> (the deployment's models, shared with the gateway).</summary>
public static class DetectorRegistration
{
    public static IServiceCollection AddDetector(this IServiceCollection services, IBusRegistrationConfigurator bus, DetectorServiceOptions options,
        DetectorOptions engine, ImageEmbeddingCache embeddingCache) =>
        services.AddDetector(bus, options, engine, _ => embeddingCache);

    /// <param name="embeddingCache">Made once from the container (its disk store reports through the host's logging).</param>
    public static IServiceCollection AddDetector(this IServiceCollection services, IBusRegistrationConfigurator bus, DetectorServiceOptions options,
        DetectorOptions engine, Func<IServiceProvider, ImageEmbeddingCache> embeddingCache)
    {
        if (engine.ImageBatchSize > options.BatchMessageLimit)
        {
            options.BatchMessageLimit = engine.ImageBatchSize; // a run of N images needs N in the consumer's batch
        }
        services.AddSingleton(options);
        services.AddSingleton(embeddingCache);
        services.AddSingleton(sp => new DetectorPool(sp.GetRequiredService<ModelCatalog>(), engine));
        services.AddSingleton(_ => new InferenceWorkers(engine.EffectiveConcurrentRuns(Environment.ProcessorCount)));
        services.AddSingleton(sp => new DetectionEngine(sp.GetRequiredService<DetectorPool>(), sp.GetRequiredService<InferenceWorkers>(),
            sp.GetRequiredService<ImageEmbeddingCache>(), options.DecodeLimits));
        services.AddSingleton<JobExampleQueries>();
        bus.AddConsumer<DetectImagesConsumer, DetectImagesConsumerDefinition>();
        return services;
    }
}
