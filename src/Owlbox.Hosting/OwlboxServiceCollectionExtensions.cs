using MassTransit;
using MassTransit.MessageData;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Detection;
using Owlbox.Detection.Inference;
using Owlbox.Detection.Models;
using Owlbox.Detector.Consumers;
using Owlbox.Fetcher.Consumers;
using Owlbox.Gateway;
using Owlbox.Jobs;
using Owlbox.Labeling.Prompts;
using Owlbox.Writer.Consumers;

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
        services.AddSingleton(options.Fetcher);
        services.AddSingleton(options.Detector);
        services.AddSingleton(options.Faults);
        services.AddSingleton(new ImageEmbeddingCache(options.EmbeddingCacheBytes));
        services.AddSingleton(_ => new DetectorPool(_.GetRequiredService<ModelCatalog>(), options.Engine));
        services.AddSingleton(_ => new InferenceWorkers(options.Engine.EffectiveConcurrentRuns(System.Environment.ProcessorCount)));
        IMessageDataRepository images = options.MessageDataDirectory is { Length: > 0 } dir
            ? new FileSystemMessageDataRepository(new DirectoryInfo(dir))
            : new InMemoryMessageDataRepository();
        services.AddSingleton(images);
        // Claim check only where it pays: small images travel inside the message. On the in-memory bus every image
        // does, so a long one-process job never accumulates images in a repository.
        var inMemory = !string.Equals(options.Transport, "rabbitmq", StringComparison.OrdinalIgnoreCase);
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
            if (options.Has("fetcher"))
            {
                x.AddConsumer<ExpandJobConsumer>();
                x.AddConsumer<FetchSampleConsumer>().Endpoint(e => e.ConcurrentMessageLimit = options.Fetcher.Concurrency);
            }
            if (options.Has("detector"))
            {
                // One session per process: batches are consumed one at a time (a model swap never meets a running
                // batch); within a batch, InferenceWorkers keep ConcurrentRuns images in the session.
                x.AddConsumer<DetectImagesConsumer>(c => c.Options<BatchOptions>(b => b
                    .SetMessageLimit(options.Detector.BatchMessageLimit)
                    .SetTimeLimit(options.Detector.BatchTimeLimit)
                    .SetConcurrencyLimit(1)));
            }
            if (options.Has("writer"))
            {
                x.AddConsumer<WriteSamplesConsumer>(c => c.Options<BatchOptions>(b => b
                    .SetMessageLimit(options.WriterBatchMessageLimit)
                    .SetTimeLimit(options.WriterBatchTimeLimit)
                    .SetTimeLimitStart(BatchTimeLimitStart.FromLast)
                    .SetConcurrencyLimit(1)));
                x.AddConsumer<SampleFailedConsumer>();
                x.AddConsumer<FetchFaultConsumer>();
                x.AddConsumer<DetectFaultConsumer>();
                x.AddConsumer<WriteFaultConsumer>();
                x.AddConsumer<ExpandFaultConsumer>();
            }
            configureBus?.Invoke(x);

            void Configure(IBusRegistrationContext context, IBusFactoryConfigurator cfg)
            {
                cfg.UseMessageData(images);
                cfg.UseConsumeFilter(typeof(JobIdTagFilter<>), context);
                // Two layers: the outer one retries only infrastructure failures (database, broker), for minutes; the
                // inner one passes those straight out and retries everything else briefly.
                cfg.UseMessageRetry(r =>
                {
                    r.Handle<Exception>(InfrastructureFaults.IsInfrastructure);
                    r.Exponential(options.InfrastructureRetryLimit, TimeSpan.FromSeconds(1), options.InfrastructureRetryMaxInterval, TimeSpan.FromSeconds(2));
                });
                cfg.UseMessageRetry(r =>
                {
                    r.Ignore<Exception>(InfrastructureFaults.IsInfrastructure);
                    r.Exponential(options.RetryLimit, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200));
                    // Permanent problems fault at once: retrying a bad prompt or a missing model cannot help.
                    r.Ignore<DatasetException>();
                    r.Ignore<EdgeImpulse.StudioApiException>();
                    r.Ignore<ModelException>();
                    r.Ignore<InvalidPromptException>();
                    r.Ignore<JobValidationException>();
                });
                // A consumer that fails after publishing part of its output publishes nothing.
                cfg.UseInMemoryOutbox(context);
            }

            if (string.Equals(options.Transport, "rabbitmq", StringComparison.OrdinalIgnoreCase))
            {
                x.UsingRabbitMq((context, cfg) =>
                {
                    cfg.Host(options.RabbitMq.Host, options.RabbitMq.Port, options.RabbitMq.VirtualHost, h =>
                    {
                        h.Username(options.RabbitMq.Username);
                        h.Password(options.RabbitMq.Password);
                    });
                    Configure(context, cfg);
                    cfg.ConfigureEndpoints(context);
                });
            }
            else
            {
                x.UsingInMemory((context, cfg) =>
                {
                    Configure(context, cfg);
                    cfg.ConfigureEndpoints(context);
                });
            }
        });
        return services;
    }

    private sealed class DetectorPoolPreflight(DetectorPool pool) : IModelPreflight
    {
        public void Check(string model, string variant) => pool.Get(model, variant);
    }

    /// <summary>Ready only while the job store answers (MassTransit adds the bus's own check, also tagged ready).</summary>
    private sealed class JobStoreHealthCheck(IJobStore store) : Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck
    {
        public async Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult> CheckHealthAsync(
            Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await store.GetStatusAsync(Guid.Empty, cancellationToken).ConfigureAwait(false);
                return Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy();
            }
            catch (Exception e) when (InfrastructureFaults.IsInfrastructure(e))
            {
                return Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy("the job store does not answer");
            }
        }
    }

    /// <summary>The gateway's process reports the jobs gauge (one reporter, not one per role).</summary>
    private sealed class JobsGauge(IJobStore store, OwlboxOptions options) : IHostedService
    {
        private IDisposable? _gauge;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            _gauge = OwlboxTelemetry.ObserveJobs(store, options.StalledAfter);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            _gauge?.Dispose();
            return Task.CompletedTask;
        }
    }

    private sealed class JobStoreInitializer(IJobStore store) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => store.InitializeAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
