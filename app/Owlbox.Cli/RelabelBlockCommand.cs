using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Owlbox.EdgeImpulse;
using Owlbox.Hosting;
using Owlbox.Verification;

namespace Owlbox.Cli;

/// <summary>
/// <c>owlbox relabel-block</c>: the entrypoint of <c>blocks/relabel/</c>, a drop-in for Edge Impulse's "Bounding box
/// re-labeling with GPT-4o" AI labeling block. Studio runs it with that block's parameters (same names and defaults),
/// <c>--data-ids-file</c> and, in preview, <c>--propose-actions &lt;job id&gt;</c>; the keys arrive in
/// <c>EI_PROJECT_API_KEY</c> and <c>OPENAI_API_KEY</c>. Samples are read with <c>proposedActionsJobId</c>, so in one
/// AI labeling action it verifies the boxes the OWL step proposed. Unknown arguments are ignored and answers are free
/// text unless <c>--labels</c> is given, as in the original; unlike it, a failed sample makes the run exit 2.
/// </summary>
public static class RelabelBlockCommand
{
    public static Command Create(CliContext io)
    {
        var verify = new VerifyOptionGroup();
        var propose = CliOptions.Text("--propose-actions", "preview: propose the changes under this Studio job id; samples are left untouched", "job-id");
        var command = new Command("relabel-block", "the Edge Impulse relabel block (blocks/relabel): verify the boxes of the samples Studio selected "
            + "(--data-ids-file) in the project of EI_PROJECT_API_KEY with a vision language model (OPENAI_API_KEY). Unknown arguments are ignored");
        command.TreatUnmatchedTokensAsErrors = false; // Studio passes arguments a block does not declare; it must run regardless
        return command.WithOptions([.. verify.All, propose]).WithAction(async (parsed, cancellationToken) =>
        {
            var (stdout, stderr) = (io.Out, io.Error);
            var key = Environment.GetEnvironmentVariable("EI_PROJECT_API_KEY");
            if (string.IsNullOrEmpty(key))
            {
                await stderr.WriteLineAsync("Missing EI_PROJECT_API_KEY").ConfigureAwait(false);
                return OwlboxCli.SetupError;
            }
            var llmKey = VerifyOptionGroup.ReadKey();
            var (run, llm, maxCalls) = verify.Read(parsed, llmKey, freeTextByDefault: true);
            if (run.SampleIds is null)
            {
                throw new UsageException("--data-ids-file is required (Studio always passes it)");
            }
            if (run.SampleIds.Count == 0)
            {
                await stdout.WriteLineAsync("All done!").ConfigureAwait(false); // as the original, on an empty selection
                return OwlboxCli.Ok;
            }
            if (parsed.GetValue(propose) is { Length: > 0 } studioJob)
            {
                run = int.TryParse(studioJob, NumberStyles.None, CultureInfo.InvariantCulture, out _)
                    ? run with { ProposeJobId = studioJob }
                    : throw new UsageException($"--propose-actions must be Studio's integer job id, got '{studioJob}'");
            }
            var endpoint = Environment.GetEnvironmentVariable("EI_API_ENDPOINT") is { Length: > 0 } e ? e : BlockCommand.DefaultEndpoint;
            var options = new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(OwlboxOptions.SectionName).Get<OwlboxOptions>() ?? new OwlboxOptions();
            var projectId = Environment.GetEnvironmentVariable("EI_PROJECT_ID") is { Length: > 0 } pid && int.TryParse(pid, CultureInfo.InvariantCulture, out var p)
                ? p
                : await BlockRunner.FirstProjectAsync(endpoint, key, options.Studio, cancellationToken).ConfigureAwait(false);
            using var studio = new StudioClient(endpoint, key, options.Studio);
            // The block's container is thrown away: answers are not kept between runs (a local dataset keeps them).
            var result = await VerifyOptionGroup.RunAsync(new EdgeImpulseDatasetBackend(studio, projectId), run, llm, NoAnswerCache.Instance, maxCalls, cancellationToken)
                .ConfigureAwait(false);
            await VerifyOptionGroup.PrintSummaryAsync(result, maxCalls, stdout).ConfigureAwait(false);
            var exit = await VerifyOptionGroup.PrintFailuresAsync(result, stderr).ConfigureAwait(false);
            if (exit == OwlboxCli.Ok)
            {
                await stdout.WriteLineAsync("All done!").ConfigureAwait(false);
            }
            return exit;
        });
    }
}
