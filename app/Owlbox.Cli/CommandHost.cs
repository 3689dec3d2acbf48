using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Owlbox.Cli;

/// <summary>
/// The host a command runs its bus in. Signals are the command's (<see cref="StopSignal"/>), not the host's: the
/// default console lifetime stops the host on SIGTERM under the running job, so its stages fault, the job ends failed
/// (not resumable) and the bus prints stack traces. Once a stop is requested the bus's own logs are the noise of
/// taking it down, so they are not shown.
/// </summary>
public static class CommandHost
{
    public static HostApplicationBuilder CreateBuilder(CancellationToken stop)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).AddFilter(level => level >= LogLevel.Warning && !stop.IsCancellationRequested);
        // A part that fails to start (a damaged job store) throws to the command, which says it in one line: the
        // host's own "Hosting failed to start" record would repeat it with a stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        return builder;
    }

    /// <summary>The host of a command that follows a job: what <paramref name="addBus"/> registers (it passes the
    /// configurator to the registration it is given), plus a subscriber putting the job's events on the returned
    /// <see cref="JobEvents"/>, one at a time so they arrive in publish order.</summary>
    /// <param name="ownQueue">Subscribe on a temporary queue of this process's own: on a broker, two commands following
    /// at once must each see every event, not share them.</param>
    public static (IHost Host, JobEvents Events) BuildFollowing(Action<IServiceCollection, Action<IBusRegistrationConfigurator>> addBus, bool ownQueue,
        CancellationToken stop)
    {
        var events = new JobEvents();
        var builder = CreateBuilder(stop);
        builder.Services.AddSingleton(events);
        builder.Services.AddBusObserver(_ => new JobEvents.ReadyObserver(events));
        addBus(builder.Services, x => x.AddConsumer<JobEventsForwarder>().Endpoint(e =>
        {
            if (ownQueue)
            {
                e.InstanceId = NewId.NextGuid().ToString("N");
                e.Temporary = true;
            }
            e.ConcurrentMessageLimit = 1;
        }));
        return (builder.Build(), events);
    }

    /// <summary>Starts and stops when the command says; registers no signal handler.</summary>
    private sealed class CommandLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
