using MassTransit.Configuration;
using MassTransit.MessageData;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Labeling.Prompts;
using Owlbox.Models;
using Owlbox.ServiceDefaults;

namespace Owlbox.Pipeline;

/// <summary>How a process talks to the others: the transport, where claim-checked images live, and how hard a failing
/// message is retried.</summary>
public sealed record BusSettings(
    Transport Transport,
    RabbitMqSettings RabbitMq,
    string? MessageDataDirectory,
    int InlineImageBytes,
    long MaxImageBytes,
    int RetryLimit,
    int InfrastructureRetryLimit,
    TimeSpan InfrastructureRetryMaxInterval);

/// <summary>The bus every role shares, on either transport: claim checks, the job-id span tag, the two retry layers
/// and the outbox.</summary>
public static class BusPipeline
{
    /// <param name="roles">Registers the consumers of the roles this process runs (each service's <c>Add&lt;Service&gt;</c>).</param>
    public static IServiceCollection AddOwlboxBus(this IServiceCollection services, BusSettings settings, Action<IBusRegistrationConfigurator> roles)
    {
        IMessageDataRepository images = settings.MessageDataDirectory is { Length: > 0 } dir
            ? new FileSystemMessageDataRepository(new DirectoryInfo(dir))
            : new InMemoryMessageDataRepository();
        services.AddSingleton(images);
        // Claim check only where it pays: small images travel inside the message. On the in-memory bus every image
        // does, so a long one-process job never accumulates images in a repository.
        MessageDataDefaults.AlwaysWriteToRepository = false;
        MessageDataDefaults.Threshold = settings.Transport == Transport.InMemory ? (int)Math.Min(settings.MaxImageBytes, int.MaxValue) : settings.InlineImageBytes;
        return services.AddMassTransit(x =>
        {
            // MassTransit reports usage to its vendor unless told not to: nothing leaves a deployment uninvited.
            x.DisableUsageTelemetry();
            x.SetKebabCaseEndpointNameFormatter();
            roles(x);
            if (settings.Transport == Transport.RabbitMq)
            {
                x.UsingRabbitMq((context, cfg) =>
                {
                    cfg.Host(settings.RabbitMq.Host, settings.RabbitMq.Port, settings.RabbitMq.VirtualHost, h =>
                    {
                        h.Username(settings.RabbitMq.Username);
                        h.Password(settings.RabbitMq.Password);
                    });
                    cfg.UseOwlboxPipeline(context, settings, images);
                    cfg.ConfigureEndpoints(context);
                });
            }
            else
            {
                x.UsingInMemory((context, cfg) =>
                {
                    cfg.UseOwlboxPipeline(context, settings, images);
                    cfg.ConfigureEndpoints(context);
                });
            }
        });
    }

    private static void UseOwlboxPipeline(this IBusFactoryConfigurator cfg, IBusRegistrationContext context, BusSettings settings, IMessageDataRepository images)
    {
        if (context.GetService(typeof(OneProcessGates)) is OneProcessGates { IsBounded: true } gates)
        {
            // Instances, not scoped filters: the outbox publishes after the consumer's scope has ended.
            cfg.ConfigurePublish(p =>
            {
                p.AddPipeSpecification(new FilterPipeSpecification<PublishContext<FetchSample>>(new BackPressurePublishFilter<FetchSample>(gates)));
                p.AddPipeSpecification(new FilterPipeSpecification<PublishContext<ImageFetched>>(new BackPressurePublishFilter<ImageFetched>(gates)));
                p.AddPipeSpecification(new FilterPipeSpecification<PublishContext<VerifySample>>(new BackPressurePublishFilter<VerifySample>(gates)));
            });
            cfg.UseConsumeFilter(typeof(BackPressureConsumeFilter<>), context);
        }
        cfg.UseMessageData(images);
        cfg.UseConsumeFilter(typeof(JobIdTagFilter<>), context);
        // Two layers: the outer one retries only infrastructure failures (database, broker), for minutes; the
        // inner one passes those straight out and retries everything else briefly.
        cfg.UseMessageRetry(r =>
        {
            r.Handle<Exception>(InfrastructureFaults.IsInfrastructure);
            r.Exponential(settings.InfrastructureRetryLimit, TimeSpan.FromSeconds(1), settings.InfrastructureRetryMaxInterval, TimeSpan.FromSeconds(2));
        });
        cfg.UseMessageRetry(r =>
        {
            r.Ignore<Exception>(InfrastructureFaults.IsInfrastructure);
            r.Exponential(settings.RetryLimit, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200));
            // Permanent problems fault at once: retrying a bad prompt, a refused Studio call or a missing model cannot help.
            r.Ignore<DatasetException>();
            r.Ignore<ModelException>();
            r.Ignore<InvalidPromptException>();
        });
        // A consumer that fails after publishing part of its output publishes nothing.
        cfg.UseInMemoryOutbox(context);
    }
}
