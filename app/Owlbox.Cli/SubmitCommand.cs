using System.CommandLine;
using System.Net.Http.Json;
using System.Text.Json;
using Owlbox.Contracts.V1;
using Owlbox.Gateway;
using Owlbox.Jobs;

namespace Owlbox.Cli;

/// <summary>
/// <c>owlbox submit --gateway &lt;url&gt; &lt;dataset-location&gt; --model &lt;id&gt; --prompt ...</c>: submits a job to a running
/// deployment and follows it to its end, printing progress. The API key is read from an environment variable
/// (default <c>OWLBOX_API_KEY</c>; <c>--api-key-env</c> names another), never from the command line, where it would land in shell history and process lists.
/// </summary>
public static class SubmitCommand
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    public static Command Create(CliContext io)
    {
        var location = CliOptions.Positional("dataset-location", "a folder the services can read, or a project id (see --dataset-kind)");
        var job = new JobOptionGroup();
        var gateway = CliOptions.Text("--gateway", "the deployment's gateway (required)", "url");
        var datasetKind = CliOptions.Text("--dataset-kind", "how the deployment reads the dataset location: local, or edge-impulse", "kind", "local");
        var submission = new SubmissionOptionGroup();
        var command = new Command("submit", "submit a job to a running deployment and follow it to its end") { location };
        return command.WithOptions([.. job.All, gateway, datasetKind, .. submission.All]).WithAction((p, cancellationToken) =>
        {
            var url = p.GetValue(gateway) ?? throw new UsageException("--gateway <url> is required");
            var spec = job.Read(p, new DatasetReference(p.GetValue(datasetKind)!, p.GetValue(location)!), m => m);
            return submission.SubmitAsync(p, new Uri(url), spec, io.Out, cancellationToken);
        });
    }

    /// <summary>Submits <paramref name="spec"/> to <paramref name="gateway"/> and, when <paramref name="follow"/>, prints its
    /// progress until it ends (the exit code says how).</summary>
    public static async Task<int> RunAsync(Uri gateway, JobSpec spec, Guid? jobId, string apiKeyVariable, bool follow, TimeSpan poll,
        TextWriter stdout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(100) };
        if (Environment.GetEnvironmentVariable(apiKeyVariable) is { Length: > 0 } key)
        {
            http.DefaultRequestHeaders.Add("x-api-key", key);
        }
        var request = new JobApi.SubmitRequest(jobId, spec.Dataset, spec.Model, spec.ModelVariant, spec.Prompt, spec.Options, spec.ProposeJobId, spec.SampleIds, spec.Verification);
        using var response = await http.PostAsJsonAsync("/v1/jobs", request, s_json, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new JobSetupException($"the gateway refused the job ({(int)response.StatusCode}): {ProblemText(body)}");
        }
        var accepted = (await response.Content.ReadFromJsonAsync<JobApi.SubmitResponse>(s_json, cancellationToken).ConfigureAwait(false))!;
        await stdout.WriteLineAsync($"job {accepted.JobId} {(accepted.Resumed ? "resumed" : "accepted")}: {(accepted.Samples is { } n ? $"{n} samples" : "samples listed by the fetcher")}").ConfigureAwait(false);
        if (!follow)
        {
            return OwlboxCli.Ok;
        }
        var last = -1;
        while (true)
        {
            var status = (await http.GetFromJsonAsync<JobApi.StatusResponse>(accepted.StatusUrl, s_json, cancellationToken).ConfigureAwait(false))!;
            var done = status.Written + status.Failed;
            if (done != last)
            {
                await stdout.WriteLineAsync($"[{done}/{status.Total?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}] {status.Written} written, {status.Failed} failed ({status.Status.ToName()})").ConfigureAwait(false);
                last = done;
            }
            if (status.Status.IsFinal())
            {
                await stdout.WriteLineAsync($"job {status.JobId} {status.Status.ToName()}: {status.Written} written, {status.Failed} failed, {status.BoxesAdded} boxes added{(status.Error is null ? "" : $"; {status.Error}")}").ConfigureAwait(false);
                foreach (var f in status.Failures)
                {
                    await stdout.WriteLineAsync($"    {f.SampleId}: {f.Reason}").ConfigureAwait(false);
                }
                return OwlboxCli.ExitCode(status.Status);
            }
            await Task.Delay(poll, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string ProblemText(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.TryGetProperty("errors", out var errors))
            {
                return string.Join(Environment.NewLine + "  ", errors.EnumerateObject().SelectMany(p => p.Value.EnumerateArray().Select(v => v.GetString())));
            }
            return doc.RootElement.TryGetProperty("title", out var title) ? title.GetString() ?? body : body;
        }
        catch (JsonException)
        {
            return body;
        }
    }
}
