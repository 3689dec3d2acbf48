using System.CommandLine;
using Owlbox.Pipeline;
using Owlbox.ServiceDefaults;
using Microsoft.Extensions.Configuration;
using Owlbox.Hosting;

namespace Owlbox.Cli;

/// <summary><c>owlbox jobs redrive &lt;job-id&gt;</c>: puts a job's messages from the error queues back on their
/// queues, with the broker settings <c>owlbox serve</c> reads (environment, <c>appsettings.json</c>,
/// <c>--Owlbox:Key=value</c>).</summary>
public static class JobsCommand
{
    public static Command Create(CliContext io)
    {
        var job = CliOptions.Positional("job-id", "a job id as the gateway returned it");
        var redrive = new Command("redrive", "put a job's messages in the error queues back on their queues (broker settings: environment, "
            + "appsettings.json, --Owlbox:Key=value)") { job };
        redrive.TreatUnmatchedTokensAsErrors = false; // --Owlbox:Key=value settings, read as configuration
        redrive.SetAction((p, cancellationToken) => RedriveAsync(p.GetValue(job)!, [.. p.UnmatchedTokens], io.Out, cancellationToken));
        return new Command("jobs", "work on a deployment's jobs") { redrive };
    }

    private static async Task<int> RedriveAsync(string id, string[] rest, TextWriter stdout, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var jobId))
        {
            throw new UsageException("jobs takes redrive <job-id> (a job id as the gateway returned it)");
        }
        var configuration = new ConfigurationBuilder()
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(rest)
            .Build();
        var options = OwlboxSettings.Bind(configuration, OwlboxConcerns.Transport);
        if (!options.OnRabbitMq)
        {
            throw new UsageException("jobs redrive needs the deployment's broker: set Owlbox__Transport=rabbitmq and Owlbox__RabbitMq__*");
        }
        var result = await ErrorQueueRedrive.RunAsync(options.RabbitMq, jobId, cancellationToken).ConfigureAwait(false);
        foreach (var (queue, count) in result.Moved.Where(m => m.Value > 0))
        {
            await stdout.WriteLineAsync($"{queue}: {count} message{(count == 1 ? "" : "s")} moved back from {queue}_error").ConfigureAwait(false);
        }
        await stdout.WriteLineAsync($"redrove {result.Moved.Values.Sum()} messages of job {jobId}; {result.Left} of other jobs left in the error queues").ConfigureAwait(false);
        return OwlboxCli.Ok;
    }
}
