using Owlbox.Detection.Inference;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Owlbox.Datasets;
using Owlbox.Detector;
using Owlbox.EdgeImpulse;
using Owlbox.Fetcher;
using Owlbox.Gateway;
using Owlbox.Jobs;
using Owlbox.Models;
using Owlbox.Pipeline;
using Owlbox.ServiceDefaults;
using Owlbox.Verifier;
using Owlbox.Writer;

namespace Owlbox.Hosting;

/// <summary>Composes the roles this process runs: what they share (job store, datasets, models), each service's own
/// registration, and the bus. Everything a service does is in its folder under <c>services/</c>.</summary>
public static class OwlboxServiceCollectionExtensions
{
    /// <summary>The disk cache's own problems, as warnings: detection goes on without the cache.</summary>
    private static Action<string> EmbeddingCacheWarnings(IServiceProvider services)
    {
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger<EmbeddingStore>();
        return problem => logger.LogWarning("{Problem}", problem);
    }

    public static IServiceCollection AddOwlbox(this IServiceCollection services, OwlboxOptions options, Action<MassTransit.IBusRegistrationConfigurator>? configureBus = null)
    {
        services.AddSingleton(options);
        services.AddSingleton<IJobStore>(_ => options.PostgresConnectionString is { Length: > 0 } pg ? new PostgresJobStore(pg) : new SqliteJobStore(options.SqlitePath));
        services.AddHostedService<JobStoreInitializer>(); // before the bus: the tables exist before the first message
        services.AddHealthChecks().AddCheck<JobStoreHealthCheck>("job-store", tags: ["ready"]);
        services.AddSingleton<JobPlans>();
        services.AddSingleton<IDatasetKind>(new LocalDatasetKind(options.Datasets.ToAccess()));
        services.AddSingleton<IDatasetKind>(_ => new EdgeImpulseDatasetKind(options.EdgeImpulse, () => Environment.GetEnvironmentVariable(options.EdgeImpulseApiKeyVariable), options.Studio));
        services.AddSingleton<IDatasetBackendFactory, DatasetBackendFactory>();
        services.AddSingleton(new ModelCatalog(options.Models, options.AllowModelDirectories));
        services.AddSingleton(sp => options.OneProcessGates(sp.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().ApplicationStopping));
        if (options.Has(Role.Gateway))
        {
            services.AddHostedService<JobsGauge>();
            if (options.Has(Role.Detector))
            {
                services.AddSingleton<IModelPreflight, DetectorPoolPreflight>(); // the model loads before a job is accepted
            }
        }
        return services.AddOwlboxBus(options.Bus, bus =>
        {
            if (options.Has(Role.Gateway))
            {
                services.AddGateway(bus);
            }
            if (options.Has(Role.Fetcher))
            {
                services.AddFetcher(bus, options.Fetcher);
            }
            if (options.Has(Role.Detector))
            {
                services.AddDetector(bus, options.Detector, options.Engine, sp => new ImageEmbeddingCache(options.EmbeddingCacheBytes,
                    string.IsNullOrWhiteSpace(options.EmbeddingCacheDirectory) ? null : new EmbeddingStore(options.EmbeddingCacheDirectory, options.EmbeddingCacheDiskBytes,
                        EmbeddingCacheWarnings(sp))));
            }
            if (options.Has(Role.Verifier))
            {
                services.AddVerifier(bus, options.Verifier);
            }
            if (options.Has(Role.Writer))
            {
                services.AddWriter(bus, options.Writer, options.Faults);
            }
            configureBus?.Invoke(bus);
        });
    }
}

