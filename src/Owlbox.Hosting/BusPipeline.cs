using MassTransit;
using MassTransit.MessageData;
using Owlbox.Datasets;
using Owlbox.Detection;
using Owlbox.Gateway;
using Owlbox.Jobs;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Hosting;

/// <summary>What every message goes through on either transport: claim checks, the job-id span tag, the two retry
/// layers and the outbox.</summary>
internal static class BusPipeline
{
    public static void UseOwlboxPipeline(this IBusFactoryConfigurator cfg, IBusRegistrationContext context, OwlboxOptions options, IMessageDataRepository images)
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
}
