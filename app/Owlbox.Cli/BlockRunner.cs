using MassTransit;
using Owlbox.Contracts.V1;
using Owlbox.EdgeImpulse;
using Owlbox.Hosting;

namespace Owlbox.Cli;

/// <summary>What <c>owlbox block</c> was given, bound: Studio's environment and the job its parameters define.</summary>
/// <param name="ProjectId">From <c>EI_PROJECT_ID</c>; null: the first project the key sees.</param>
/// <param name="Job">The job as its parameters say, the model as given (<c>/models/&lt;name&gt;</c>); the dataset is
/// the project's, set by the runner.</param>
/// <param name="Gateway">From <c>OWLBOX_GATEWAY_URL</c>: submit the job to that deployment's HTTP API.</param>
/// <param name="KeptJobStore">From <c>OWLBOX_BLOCK_JOB_STORE</c>: keep the in-process run's job store there.</param>
public sealed record BlockRequest(string ApiKey, string Endpoint, int? ProjectId, JobSpec Job, OwlboxOptions Options, Uri? Gateway, string? KeptJobStore);

/// <summary>
/// The Edge Impulse block's work once its arguments are bound: find the project, then run the job where the block's
/// environment says: through a deployment's gateway (<c>OWLBOX_GATEWAY_URL</c>), on a deployment's broker
/// (<c>Owlbox__Transport=rabbitmq</c>, the key sealed for the deployment when it serves many projects), or in this
/// process with a job store that lives as long as the run. It sits beside the job runners it chooses between, which
/// are the CLI's: neither <c>Owlbox.Hosting</c> (which the CLI composes on) nor <c>Owlbox.EdgeImpulse</c> (Studio's
/// client, below the pipeline) can reach them.
/// </summary>
public static class BlockRunner
{
    /// <param name="submitToGateway">How the job goes to a gateway: as <c>owlbox submit</c> does, with the block's
    /// submission options.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> RunAsync(BlockRequest request, IJobReporter reporter, Func<Uri, JobSpec, Task<int>> submitToGateway,
        Action<IBusRegistrationConfigurator>? busTap, CancellationToken cancellationToken)
    {
        var (endpoint, options) = (request.Endpoint, request.Options);
        var projectId = request.ProjectId ?? await FirstProjectAsync(request.Endpoint, request.ApiKey, request.Options.Studio, cancellationToken).ConfigureAwait(false);
        var dataset = new DatasetReference(EdgeImpulseDatasetKind.Kind, EdgeImpulseDatasetKind.Location(endpoint, projectId));
        // A deployment names its models by folder: the Model parameter's /models/<name> is catalog id <name> there.
        var onDeployment = request.Job with { Dataset = dataset, Model = Path.GetFileName(request.Job.Model.TrimEnd('/')) };
        if (request.Gateway is { } gateway)
        {
            // The deployment resolves the model id in its own catalog and reads the project with its own key.
            return await submitToGateway(gateway, onDeployment).ConfigureAwait(false);
        }
        var destination = request.Job.ProposeJobId is { } proposal ? $"project {projectId}, proposed changes of job {proposal}" : $"project {projectId}";
        if (options.OnRabbitMq)
        {
            // The deployment runs the job: the model is an id in its catalog, the project key is its fetchers' and writers'.
            var jobId = Guid.NewGuid();
            // A fleet serving many projects: the key goes sealed for that deployment and this job, never as it is.
            var sealedKey = options.EdgeImpulse.SealingKeyId is { Length: > 0 } keyId
                ? new ProjectKeySealer(options.EdgeImpulse.SealingKeys).Seal(keyId, request.ApiKey, jobId, EdgeImpulseDatasetKind.SealedFor(endpoint, projectId),
                    DateTimeOffset.UtcNow + options.EdgeImpulse.SealedKeyLifetime).ToJson()
                : null;
            var outcome = await BrokerJobRunner.RunAsync(jobId, onDeployment, sealedKey, options, destination, reporter, cancellationToken).ConfigureAwait(false);
            return OwlboxCli.ExitCode(outcome.Status);
        }
        var spec = request.Job with { Dataset = dataset, Model = Path.GetFullPath(request.Job.Model) };
        InProcess(options, endpoint);
        // The job store lives as long as the run: the block's container is thrown away, and a run on a workstation
        // must not leave a folder behind in the temp directory. OWLBOX_BLOCK_JOB_STORE keeps it (a path) for a look.
        var kept = request.KeptJobStore is { } keep ? Path.GetFullPath(keep) : null;
        var scratch = kept is null ? Directory.CreateTempSubdirectory("owlbox-block-") : null;
        options.SqlitePath = kept ?? Path.Combine(scratch!.FullName, "jobs.db");
        try
        {
            var summary = await LocalJobRunner.RunAsync(spec, options, destination, reporter, cancellationToken, busTap).ConfigureAwait(false);
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

    /// <summary>The one-process shape the block runs in: every role on the in-memory bus, the model a directory, OWLv2
    /// inputs as the original block prepared them, and Studio the one that started it.</summary>
    public static void InProcess(OwlboxOptions options, string endpoint)
    {
        options.Transport = "in-memory";
        options.Roles = [.. OwlboxOptions.AllRoles];
        options.AllowModelDirectories = true;
        // As the original block's transformers (4.45.2) prepared OWLv2 inputs.
        options.Engine = options.Engine with { Owlv2Padding = Detection.Imaging.Owlv2Padding.Grey };
        options.EdgeImpulse.Endpoints = [endpoint]; // the block calls the Studio that started it, as its environment says
        OwlboxSettings.Check(options, OwlboxConcerns.All);
    }

    /// <summary>The first project the key sees (Studio always sets <c>EI_PROJECT_ID</c>; this is for a run by hand).
    /// Both blocks, labeling and relabeling, find their project here.</summary>
    internal static async Task<int> FirstProjectAsync(string endpoint, string apiKey, StudioClientOptions studio, CancellationToken cancellationToken)
    {
        using var client = new StudioClient(endpoint, apiKey, studio);
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
}
