using MassTransit;
using MassTransit.MessageData;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Detection;
using Owlbox.Detection.Inference;
using Owlbox.Detection.Models;
using Owlbox.Detector;
using Owlbox.Fetcher;
using Owlbox.Gateway;
using Owlbox.Jobs;
using Owlbox.Labeling.Prompts;
using Owlbox.Writer;

namespace Owlbox.Hosting;

public static class OwlboxServiceCollectionExtensions
{
    /// <summary>Registers the job store, the dataset backends, the roles' consumers and the bus.</summary>
    /// <param name="configureBus">Extra registrations (e.g. the CLI's progress follower).</param>
    public static IServiceCollection AddOwlbox(this IServiceCollection services, OwlboxOptions options, Action<IBusRegistrationConfigurator>? configureBus = null)
    {
        services.AddSingleton(options);
        services.AddSingleton<IJobStore>(_ => options.PostgresConnectionString is { Length: > 0 } pg
            ? new PostgresJobStore(pg)
            : new SqliteJobStore(options.SqlitePath));
        // Registered before the bus so the tables exist before the first message is consumed.
        services.AddHostedService<JobStoreInitializer>();
        services.AddSingleton<JobSpecCache>();
        services.AddSingleton<IDatasetBackendFactory>(_ => new EdgeImpulse.EdgeImpulseBackendFactory(options.Datasets.ToAccess(), options.EdgeImpulse,
            () => System.Environment.GetEnvironmentVariable(options.EdgeImpulseApiKeyVariable), options.Studio));
        services.AddSingleton(new ModelCatalog(options.Models, options.AllowModelDirectories));
        services.AddSingleton(new ImageEmbeddingCache(options.EmbeddingCacheBytes));
        services.AddSingleton(_ => new DetectorPool(_.GetRequiredService<ModelCatalog>(), options.Engine));
        services.AddSingleton(_ => new InferenceWorkers(options.Engine.EffectiveConcurrentRuns(System.Environment.ProcessorCount)));
        IMessageDataRepository images = options.MessageDataDirectory is { Length: > 0 } dir
            ? new FileSystemMessageDataRepository(new DirectoryInfo(dir))
            : new InMemoryMessageDataRepository();
        services.AddSingleton(images);
        // Claim check only where it pays: small images travel inside the message. On the in-memory bus every image
        // does, so a long one-process job never accumulates images in a repository.
        var inMemory = !options.OnRabbitMq;
        MessageDataDefaults.AlwaysWriteToRepository = false;
        MessageDataDefaults.Threshold = inMemory ? (int)Math.Min(options.Fetcher.MaxImageBytes, int.MaxValue) : options.InlineImageBytes;
        // Fetcher and detector in one process on the in-memory bus: two detector batches of images may wait, and
        // as many samples again queued for the fetchers beyond those, no more.
        var imageSlots = 2 * options.Detector.BatchMessageLimit;
        services.AddSingleton(inMemory && options.Has("fetcher") && options.Has("detector")
            ? new OneProcessGates(imageSlots + Math.Max(imageSlots, options.Fetcher.Concurrency), imageSlots)
            : OneProcessGates.Unbounded);
        if (options.Has("gateway"))
        {
            services.AddScoped<JobSubmitter>();
            if (options.Has("detector"))
            {
                services.AddSingleton<IModelPreflight, DetectorPoolPreflight>();
            }
            services.AddHostedService<JobsGauge>();
        }

        services.AddHealthChecks().AddCheck<JobStoreHealthCheck>("job-store", tags: ["ready"]);
        services.AddMassTransit(x =>
        {
            // MassTransit reports usage to its vendor unless told not to: nothing leaves a deployment uninvited.
            x.DisableUsageTelemetry();
            x.SetKebabCaseEndpointNameFormatter();
            // Each role registers its own consumers (services/<role>/<Role>Registration.cs), with its definitions.
            if (options.Has("fetcher"))
            {
                services.AddFetcher(x, options.Fetcher);
            }
            if (options.Has("detector"))
            {
                services.AddDetector(x, options.Detector);
            }
            if (options.Has("writer"))
            {
                services.AddWriter(x, options.Writer, options.Faults);
            }
            configureBus?.Invoke(x);

            if (options.OnRabbitMq)
            {
                x.UsingRabbitMq((context, cfg) =>
                {
                    cfg.Host(options.RabbitMq.Host, options.RabbitMq.Port, options.RabbitMq.VirtualHost, h =>
                    {
                        h.Username(options.RabbitMq.Username);
                        h.Password(options.RabbitMq.Password);
                    });
                    cfg.UseOwlboxPipeline(context, options, images);
                    cfg.ConfigureEndpoints(context);
                });
            }
            else
            {
                x.UsingInMemory((context, cfg) =>
                {
                    cfg.UseOwlboxPipeline(context, options, images);
                    cfg.ConfigureEndpoints(context);
                });
            }
        });
        return services;
    }
}
