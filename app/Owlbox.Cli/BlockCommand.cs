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

    /// <summary>The project: <c>EI_PROJECT_ID</c> (Studio always sets it), else the first the key sees.</summary>
    internal static async Task<int> ProjectIdAsync(string endpoint, string key, StudioClientOptions studio, CancellationToken cancellationToken)
    {
        if (Environment.GetEnvironmentVariable("EI_PROJECT_ID") is { Length: > 0 } pid && int.TryParse(pid, CultureInfo.InvariantCulture, out var p))
        {
            return p;
        }
        using var client = new StudioClient(endpoint, key, studio);
        try
        {
            var projects = await client.ListProjectsAsync(cancellationToken).ConfigureAwait(false);
            return projects.Count > 0 ? projects[0].Id : throw new JobSetupException("the API key sees no project");
        }
        catch (Exception ex) when (ex is StudioApiException or IOException)
        {
            throw new JobSetupException($"cannot list projects at {endpoint}: {ex.Message}");
        }
    }

    private static async Task<int> RunAsync(JobOptionGroup job, SubmissionOptionGroup submission, ParseResult parsed, CliContext io, CancellationToken cancellationToken)
    {
        var (stdout, stderr) = (io.Out, io.Error);
        var key = Environment.GetEnvironmentVariable("EI_PROJECT_API_KEY");
        if (string.IsNullOrEmpty(key))
        {
            await stderr.WriteLineAsync("Missing EI_PROJECT_API_KEY").ConfigureAwait(false);
            return OwlboxCli.SetupError;
        }
        var endpoint = Environment.GetEnvironmentVariable("EI_API_ENDPOINT") is { Length: > 0 } e ? e : DefaultEndpoint;
        if (parsed.GetValue(job.DataIdsFile) is not { } idsFile)
        {
            throw new UsageException("--data-ids-file is required (Studio always passes it)");
        }
        if (Datasets.SampleIds.ReadFile(idsFile).Count == 0)
        {
            // Nothing selected: the original block prints this and succeeds.
            await stdout.WriteLineAsync("All done!").ConfigureAwait(false);
            return OwlboxCli.Ok;
        }
        if (parsed.GetValue(job.ProposeActions) is { Length: > 0 } studioJob && !int.TryParse(studioJob, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            throw new UsageException($"--propose-actions must be Studio's integer job id, got '{studioJob}'");
        }
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var options = configuration.GetSection(OwlboxOptions.SectionName).Get<OwlboxOptions>() ?? new OwlboxOptions();
        if (options.TransportProblem is { } transport)
        {
            // Read as in-memory, a misspelt rabbitmq would run the job here instead of on the deployment, silently.
            throw new JobSetupException(transport);
        }
        var projectId = await ProjectIdAsync(endpoint, key, options.Studio, cancellationToken).ConfigureAwait(false);
        var model = parsed.GetValue(job.Model) ?? Environment.GetEnvironmentVariable("OWLBOX_MODEL") ?? "/models/owlv2";
        var dataset = new DatasetReference(EdgeImpulseDatasetKind.Kind, EdgeImpulseDatasetKind.Location(endpoint, projectId));
        // A deployment names its models by folder: the Model parameter's /models/<name> is catalog id <name> there.
        var catalogId = Path.GetFileName(model.TrimEnd('/'));
        if (Environment.GetEnvironmentVariable("OWLBOX_GATEWAY_URL") is { Length: > 0 } gateway)
        {
            // The deployment resolves the model id in its own catalog and reads the project with its own key.
            var submitted = job.Read(parsed, dataset, m => m, nmsByDefault: false, model: catalogId);
            return await submission.SubmitAsync(parsed, new Uri(gateway), submitted, stdout, cancellationToken).ConfigureAwait(false);
        }
        var destination = parsed.GetValue(job.ProposeActions) is { Length: > 0 } proposal
            ? $"project {projectId}, proposed changes of job {proposal}"
            : $"project {projectId}";
        if (options.OnRabbitMq)
        {
            // The deployment runs the job: the model is an id in its catalog, the project key is its fetchers' and writers'.
            var published = job.Read(parsed, dataset, m => m, nmsByDefault: false, model: catalogId);
            var jobId = Guid.NewGuid();
            // A fleet serving many projects: the key goes sealed for that deployment and this job, never as it is.
            var sealedKey = options.EdgeImpulse.SealingKeyId is { Length: > 0 } keyId
                ? new ProjectKeySealer(options.EdgeImpulse.SealingKeys).Seal(keyId, key, jobId, EdgeImpulseDatasetKind.SealedFor(endpoint, projectId),
                    DateTimeOffset.UtcNow + options.EdgeImpulse.SealedKeyLifetime).ToJson()
                : null;
            var outcome = await BrokerJobRunner.RunAsync(jobId, published, sealedKey, options, destination, new ConsoleReporter(stdout), cancellationToken).ConfigureAwait(false);
            return OwlboxCli.ExitCode(outcome.Status);
        }
        var spec = job.Read(parsed, dataset, Path.GetFullPath, nmsByDefault: false, model: model);
        options.Transport = "in-memory";
        options.Roles = [.. OwlboxOptions.AllRoles];
        options.AllowModelDirectories = true;
        // As the original block's transformers (4.45.2) prepared OWLv2 inputs.
        options.Engine = options.Engine with { Owlv2Padding = Detection.Imaging.Owlv2Padding.Grey };
        options.EdgeImpulse.Endpoints = [endpoint]; // the block calls the Studio that started it, as its environment says
        // The job store lives as long as the run: the block's container is thrown away, and a run on a workstation
        // must not leave a folder behind in the temp directory. OWLBOX_BLOCK_JOB_STORE keeps it (a path) for a look.
        var kept = Environment.GetEnvironmentVariable("OWLBOX_BLOCK_JOB_STORE") is { Length: > 0 } keep ? Path.GetFullPath(keep) : null;
        var scratch = kept is null ? Directory.CreateTempSubdirectory("owlbox-block-") : null;
        options.SqlitePath = kept ?? Path.Combine(scratch!.FullName, "jobs.db");
        try
        {
            var summary = await LocalJobRunner.RunAsync(spec, options, destination, new ConsoleReporter(stdout), cancellationToken, io.BusTap).ConfigureAwait(false);
            return OwlboxCli.ExitCode(summary.Status);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools(); // SQLite keeps the file open in its pool
            try
            {
                scratch?.Delete(recursive: true);
            }
            catch (IOException)
            {
                // best effort; the folder is in the temp directory
            }
        }
    }
}
