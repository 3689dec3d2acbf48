using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Owlbox.Cli;
using Owlbox.Contracts.V1;
using Owlbox.Hosting;
using Owlbox.Labeling;
using Owlbox.Pipeline;

namespace Owlbox.Integration.Tests;

/// <summary>The block on a broker sends the job and follows its events on a queue of its own. A gateway that answers at
/// once (here a stand-in consumer on the deployment's submit queue, on RabbitMQ) publishes the job's acceptance and
/// completion within milliseconds of the submission: the block must have its event queue bound before it submits, or
/// those events go to no queue and it waits forever. Seen in CI: `Block_WithABroker_...` hung on a loaded machine with
/// every sample written.</summary>
public sealed class BrokerFollowingTests(Infrastructure infra) : IClassFixture<Infrastructure>
{
    private sealed class InstantGateway : IConsumer<SubmitLabelingJob>
    {
        public async Task Consume(ConsumeContext<SubmitLabelingJob> context)
        {
            var id = context.Message.JobId;
            await context.Publish(new LabelingJobAccepted(id, false, 0, "instant", "owlv2"));
            await context.Publish(new LabelingJobCompleted(id, JobStatus.Completed, 0, 0, 0));
        }
    }

    [SkippableFact]
    public async Task AJobCompletedTheMomentItIsSubmitted_IsSeenToTheEnd()
    {
        Skip.If(infra.SkipReason is not null, infra.SkipReason);
        var settings = new OwlboxOptions { Transport = "rabbitmq" };
        settings.RabbitMq.Host = infra.RabbitHost;
        settings.RabbitMq.Port = infra.RabbitPort;
        // The stand-in gateway on the same bus set-up as the services (serializer, pipeline, topology).
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddOwlboxBus(settings.Bus, x => x.AddConsumer<InstantGateway>().Endpoint(e => e.Name = "submit-labeling-job"));
        builder.Services.Configure<MassTransitHostOptions>(o => o.WaitUntilStarted = true);
        using var gateway = builder.Build();
        await gateway.StartAsync(TestContext.Timeout);
        try
        {
            var spec = new JobSpec(new DatasetReference("edge-impulse", "1"), "owlv2-test", "model", "red", new LabelingOptions().ToContract(), null, null);
            for (var run = 0; run < 5; run++)
            {
                using var output = new StringWriter();
                var summary = await BrokerJobRunner.RunAsync(Guid.NewGuid(), spec, null, settings, "project 1", new ConsoleReporter(output), TestContext.Timeout)
                    .WaitAsync(TimeSpan.FromMinutes(2));
                Assert.Equal(JobStatus.Completed, summary.Status);
            }
        }
        finally
        {
            await gateway.StopAsync();
        }
    }

    private static class TestContext
    {
        public static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromMinutes(3)).Token;
    }
}
