using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Owlbox.Contracts.V1;
using Owlbox.Hosting;
using Owlbox.Labeling.Prompts;
using Owlbox.Pipeline;

namespace Owlbox.Cli;

/// <summary>
/// The block with a broker configured (<c>Owlbox__Transport=rabbitmq</c>): it sends <see cref="SubmitLabelingJob"/>
/// to the deployment's gateway queue and follows the job's events on a queue of its own (deleted when it exits),
/// printing them as the in-process run does, with the same exit codes. It holds no job store and no model: the
/// deployment checks, records and runs the job, and its fetchers and writers hold the project key.
/// </summary>
public static class BrokerJobRunner
{
    public const string GatewayQueue = "queue:submit-labeling-job";

    /// <param name="sealedProjectKey">The block's project key sealed for the deployment and <paramref name="jobId"/>,
    /// when the fleet serves many projects; null where the deployment holds the project's key itself.</param>
    public static async Task<JobSummary> RunAsync(Guid jobId, JobSpec spec, string? sealedProjectKey, OwlboxOptions options, string destination,
        IJobReporter reporter, CancellationToken cancellationToken)
    {
        var (built, events) = CommandHost.BuildFollowing((services, follow) => services.AddOwlboxBus(options.Bus, follow), ownQueue: true, cancellationToken);
        using var host = built;
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The job goes out once this command's event queue is bound, so not one of its events can be missed.
            await WaitForEventQueueAsync(events, cancellationToken).ConfigureAwait(false);
            var gateway = await host.Services.GetRequiredService<IBus>().GetSendEndpoint(new Uri(GatewayQueue)).ConfigureAwait(false);
            await gateway.Send(new SubmitLabelingJob(jobId, spec, sealedProjectKey), cancellationToken).ConfigureAwait(false);
            try
            {
                return await FollowAsync(jobId, spec, destination, events, reporter, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // This process only follows: the deployment owns the job, and what it wrote stays written.
                throw new CommandStoppedException($"stopped following job {jobId} on request; the deployment goes on with it", cancellationToken);
            }
        }
        finally
        {
            await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Waits for the event queue (<see cref="JobEvents.Ready"/>); a broker that cannot make it in a minute is a
    /// setup error in words.</summary>
    internal static async Task WaitForEventQueueAsync(JobEvents events, CancellationToken cancellationToken)
    {
        try
        {
            await events.Ready.WaitAsync(TimeSpan.FromMinutes(1), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new JobSetupException("the broker did not get this command's event queue ready within a minute; nothing was submitted (is RabbitMQ up and reachable?)");
        }
    }

    private static async Task<JobSummary> FollowAsync(Guid jobId, JobSpec spec, string destination, JobEvents events, IJobReporter reporter,
        CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        var follower = new JobFollower(jobId, reporter)
        {
            Accepted = a => reporter.Started(new RunHeader(a.ModelId, a.ModelType, LabelingPrompt.Parse(spec.Prompt).Lines, a.Samples ?? 0, destination, null)),
        };
        var c = await follower.FollowAsync(events.Reader, cancellationToken).ConfigureAwait(false);
        var summary = new JobSummary(c.Status, c.Total, c.Written, follower.Failed, follower.BoxesAdded, started.Elapsed, destination);
        reporter.Finished(summary);
        return summary;
    }
}
