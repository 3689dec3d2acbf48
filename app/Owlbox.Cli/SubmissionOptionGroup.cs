using System.CommandLine;
using Owlbox.Contracts.V1;

namespace Owlbox.Cli;

/// <summary>How a job is handed to a deployment's gateway and followed: declared once for <c>submit</c> and for
/// <c>block</c>, which submits the same way when <c>OWLBOX_GATEWAY_URL</c> is set.</summary>
public sealed class SubmissionOptionGroup
{
    public const string DefaultApiKeyVariable = "OWLBOX_API_KEY";

    public Option<string> JobId { get; } = CliOptions.Text("--job-id", "the job's id (a GUID; resubmitting the same id resumes that job); default: a new one", "guid");
    public Option<string> ApiKeyEnv { get; } = CliOptions.Text("--api-key-env", "the environment variable holding the gateway's API key (never on the command line)", "variable", DefaultApiKeyVariable);
    public Option<double> PollSeconds { get; } = CliOptions.Number("--poll-seconds", "how often to ask the gateway for progress", 1, "seconds");
    public Option<bool> NoFollow { get; } = CliOptions.Flag("--no-follow", "return once the gateway accepts the job instead of following it to its end");

    public IReadOnlyList<Option> All => [JobId, ApiKeyEnv, PollSeconds, NoFollow];

    /// <summary>Submits <paramref name="spec"/> to <paramref name="gateway"/> as these options say.</summary>
    public Task<int> SubmitAsync(ParseResult parsed, Uri gateway, JobSpec spec, TextWriter stdout, CancellationToken cancellationToken)
    {
        Guid? id = parsed.GetValue(JobId) is { } text ? (Guid.TryParse(text, out var g) ? g : throw new UsageException($"--job-id '{text}' is not a GUID")) : null;
        return SubmitCommand.RunAsync(gateway, spec, id, parsed.GetValue(ApiKeyEnv)!, follow: !parsed.GetValue(NoFollow), TimeSpan.FromSeconds(parsed.GetValue(PollSeconds)),
            stdout, cancellationToken);
    }
}
