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

    /// <summary>Starts and stops when the command says; registers no signal handler.</summary>
    private sealed class CommandLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
