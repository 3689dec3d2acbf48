using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Owlbox.Contracts.V1;
using Owlbox.EdgeImpulse;
using Owlbox.Hosting;

namespace Owlbox.Cli;

/// <summary>
/// <c>owlbox block</c>: the Edge Impulse AI labeling block entrypoint, a drop-in for the original Edge Impulse OWL block. Studio runs it
/// with the block's parameters, <c>--data-ids-file</c> and, in preview, <c>--propose-actions &lt;job id&gt;</c>; the
/// project key arrives in <c>EI_PROJECT_API_KEY</c>. Unknown arguments are ignored and a literal <c>\n</c> in the
/// prompt is a newline, as in the original block. With no gateway configured the whole job runs in this process on the
/// in-memory bus; with <c>OWLBOX_GATEWAY_URL</c> it is submitted to that deployment and followed to its end (the
/// deployment's fetchers and writers hold the project key themselves; it never travels with the job).
/// </summary>
public static class BlockCommand
{
    public const string DefaultEndpoint = "https://studio.edgeimpulse.com/v1";

    public static Command Create(CliContext io)
    {
        var job = new JobOptionGroup();
        var submission = new SubmissionOptionGroup(); // with OWLBOX_GATEWAY_URL the block submits as owlbox submit does
        var command = new Command("block", "the Edge Impulse AI labeling block: label the samples Studio selected (--data-ids-file) in the project of "
            + "EI_PROJECT_API_KEY; with OWLBOX_GATEWAY_URL, on that deployment. Unknown arguments are ignored");
        command.TreatUnmatchedTokensAsErrors = false; // Studio passes arguments a block does not declare; it must run regardless
        return command.WithOptions([.. job.All, .. submission.All]).WithAction((p, cancellationToken) => RunAsync(job, submission, p, io, cancellationToken));
    }

    private static async Task<int> RunAsync(JobOptionGroup job, SubmissionOptionGroup submission, ParseResult parsed, CliContext io, CancellationToken cancellationToken)
    {
        var key = Environment.GetEnvironmentVariable("EI_PROJECT_API_KEY");
        if (string.IsNullOrEmpty(key))
        {
            await io.Error.WriteLineAsync("Missing EI_PROJECT_API_KEY").ConfigureAwait(false);
            return OwlboxCli.SetupError;
        }
        if (parsed.GetValue(job.DataIdsFile) is not { } idsFile)
        {
            throw new UsageException("--data-ids-file is required (Studio always passes it)");
        }
        if (Datasets.SampleIds.ReadFile(idsFile).Count == 0)
        {
            // Nothing selected: the original block prints this and succeeds.
            await io.Out.WriteLineAsync("All done!").ConfigureAwait(false);
            return OwlboxCli.Ok;
        }
        if (parsed.GetValue(job.ProposeActions) is { Length: > 0 } studioJob && !int.TryParse(studioJob, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            throw new UsageException($"--propose-actions must be Studio's integer job id, got '{studioJob}'");
        }
        // Read as in-memory, a misspelt rabbitmq would run the job here instead of on the deployment, silently: every
        // setting is checked before anything runs, the rest of them once the block knows where the job runs.
        var options = OwlboxSettings.Bind(new ConfigurationBuilder().AddEnvironmentVariables().Build(), OwlboxConcerns.Transport);
        var model = parsed.GetValue(job.Model) ?? Environment.GetEnvironmentVariable("OWLBOX_MODEL") ?? "/models/owlv2";
        var request = new BlockRequest(
            key,
            Environment.GetEnvironmentVariable("EI_API_ENDPOINT") is { Length: > 0 } e ? e : DefaultEndpoint,
            Environment.GetEnvironmentVariable("EI_PROJECT_ID") is { Length: > 0 } pid && int.TryParse(pid, CultureInfo.InvariantCulture, out var p) ? p : null,
            job.Read(parsed, new DatasetReference(EdgeImpulseDatasetKind.Kind, ""), m => m, nmsByDefault: false, model: model),
            options,
            Environment.GetEnvironmentVariable("OWLBOX_GATEWAY_URL") is { Length: > 0 } gateway ? new Uri(gateway) : null,
            Environment.GetEnvironmentVariable("OWLBOX_BLOCK_JOB_STORE") is { Length: > 0 } keep ? keep : null);
        return await BlockRunner.RunAsync(request, new ConsoleReporter(io.Out),
            (gatewayUri, spec) => submission.SubmitAsync(parsed, gatewayUri, spec, io.Out, cancellationToken), io.BusTap, cancellationToken).ConfigureAwait(false);
    }
}
