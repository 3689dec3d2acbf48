using Owlbox.Pipeline;
using Owlbox.ServiceDefaults;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Owlbox.Contracts.V1;
using Owlbox.Jobs;

namespace Owlbox.Gateway;

/// <summary>The job API: submit (202, or 400 listing every problem), status, cancel. Every route needs an API key
/// (<see cref="ApiKeyAuthentication"/>, registered with <see cref="ApiKeyAuthentication.AddGatewayAuthorization"/>).</summary>
public static class JobApi
{
    public sealed record SubmitRequest(
        Guid? JobId, DatasetReference Dataset, string Model, string? ModelVariant, string Prompt,
        JobOptions? Options, string? ProposeJobId, IReadOnlyList<string>? SampleIds, VerificationSpec? Verification = null);

    public sealed record SubmitResponse(Guid JobId, bool Resumed, int? Samples, string StatusUrl);

    public sealed record Failure(string SampleId, string Reason);

    public sealed record StatusResponse(
        Guid JobId, JobStatus Status, int? Total, int Written, int Failed, int Pending, int BoxesAdded,
        DateTimeOffset CreatedUtc, DateTimeOffset? FinishedUtc, string? Error, double? MeanSampleMilliseconds,
        IReadOnlyList<Failure> Failures, bool Stalled);

    /// <summary>The defaults of <see cref="Labeling.LabelingOptions"/> (the original Edge Impulse block's).</summary>
    public static readonly JobOptions DefaultOptions = new Labeling.LabelingOptions().ToContract();

    /// <param name="stalledAfter">How long pending samples may stand still before a job is reported stalled.</param>
    public static WebApplication MapJobApi(this WebApplication app, GatewayOptions options, TimeSpan stalledAfter)
    {
        if (options.ApiKeys.Count == 0 && !options.AllowAnonymous)
        {
            throw new InvalidOperationException("the gateway has no API keys: set Owlbox__Gateway__ApiKeys__0 (or Owlbox:Gateway:AllowAnonymous=true for local development)");
        }
        app.UseExceptionHandler(error => error.Run(WriteUnhandledAsync));
        // Who may call is decided per endpoint (AddGatewayAuthorization's fallback policy), after routing and before
        // any endpoint reads a body: no path spelling reaches a handler without the key.
        app.UseAuthentication();
        app.UseAuthorization();
        // Each endpoint carries its body limit: a declared body over it is refused before the endpoint runs, a body
        // without a declared length when it is read (Kestrel's global limit is the same).
        app.UseDeclaredBodyLimit();
        var jobs = app.MapGroup("/v1/jobs").WithMetadata(new RequestSizeLimitAttribute(options.MaxRequestBytes));
        jobs.MapPost("/", async (HttpRequest http, JobSubmitter submitter, CancellationToken ct) =>
                await ReadSubmitAsync(http.Body, ct).ConfigureAwait(false) switch
                {
                    (_, { } problem) => Results.ValidationProblem(new Dictionary<string, string[]> { ["request"] = [problem] }),
                    var (request, _) => await SubmitAsync(request!, submitter, options, ct).ConfigureAwait(false),
                })
            .Accepts<SubmitRequest>("application/json").Produces<SubmitResponse>(StatusCodes.Status202Accepted).ProducesValidationProblem()
            .WithName("SubmitJob").WithSummary("Validate, record and queue a labeling job (or resume one by id).");
        jobs.MapGet("/{jobId:guid}", (Guid jobId, IJobStore store, CancellationToken ct) => StatusAsync(jobId, store, stalledAfter, ct)).WithName("GetJob").WithSummary("Progress, failures with reasons, and timings of a job.");
        jobs.MapPost("/{jobId:guid}/cancel", CancelAsync).WithName("CancelJob").WithSummary("Cancel a job; finished samples stay written.");
        return app;
    }

    /// <summary>What escaped every handler: the job store or the broker unreachable is 503 (try again), anything else
    /// a bare 500; never a stack trace or an exception message that could carry a connection string.</summary>
    private static Task WriteUnhandledAsync(HttpContext context)
    {
        var error = context.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>()?.Error;
        var result = error switch
        {
            BadHttpRequestException bad => Results.Problem(statusCode: bad.StatusCode, title: "bad request"),
            IOException io when io.InnerException is HttpRequestException or OperationCanceledException =>
                Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Edge Impulse did not answer; try again shortly"),
            not null when InfrastructureFaults.IsInfrastructure(error) =>
                Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "the job store or the message broker is unavailable; try again shortly"),
            _ => Results.Problem(statusCode: StatusCodes.Status500InternalServerError, title: "internal error; the gateway's log has the details"),
        };
        return result.ExecuteAsync(context);
    }

    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web) { AllowDuplicateProperties = false };
    private static readonly JsonDocumentOptions s_document = new() { MaxDepth = 32, AllowDuplicateProperties = false };

    /// <summary>The body as a submit request, or what is wrong with it in words (the framework's binding would answer
    /// an empty 400). Fields missing from <c>options</c> take <see cref="DefaultOptions"/>.</summary>
    public static async Task<(SubmitRequest? Request, string? Problem)> ReadSubmitAsync(Stream body, CancellationToken cancellationToken)
    {
        JsonNode? node;
        try
        {
            node = await JsonNode.ParseAsync(body, new JsonNodeOptions { PropertyNameCaseInsensitive = true }, s_document, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            return (null, $"the request body is empty, not valid JSON, has a key twice or is nested deeper than {s_document.MaxDepth} levels (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})");
        }
        if (node is not JsonObject root)
        {
            return (null, $"the request body must be a JSON object (the job), not {(node is null ? "null" : node.GetValueKind().ToString().ToLowerInvariant())}");
        }
        if (root["options"] is JsonObject given)
        {
            var merged = JsonSerializer.SerializeToNode(DefaultOptions, s_json)!.AsObject();
            foreach (var (name, value) in given.ToArray())
            {
                if (merged.Select(p => p.Key).FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase)) is { } same)
                {
                    merged.Remove(same);
                }
                merged[name] = value?.DeepClone();
            }
            root["options"] = merged;
        }
        try
        {
            return (root.Deserialize<SubmitRequest>(s_json), null);
        }
        catch (JsonException e)
        {
            return (null, $"the request body's field '{e.Path?.TrimStart('$', '.')}' is not a value it takes (jobId is a GUID; options hold plain numbers, booleans and a policy name)");
        }
    }

    /// <summary>Limits on what one request may ask for and characters no name or path may hold, checked before anything
    /// is opened or recorded.</summary>
    private static IEnumerable<string> Refused(SubmitRequest request, GatewayOptions options)
    {
        var named = new List<(string Field, string? Value)>
        {
            ("model", request.Model), ("modelVariant", request.ModelVariant), ("dataset.location", request.Dataset.Location),
            ("dataset.kind", request.Dataset.Kind), ("proposeJobId", request.ProposeJobId),
        };
        named.AddRange((request.SampleIds ?? []).Select((id, i) => ($"sampleIds[{i}]", (string?)id)));
        foreach (var (field, value) in named)
        {
            if (value is not null && Array.FindIndex(value.ToCharArray(), char.IsControl) is var at and >= 0)
            {
                yield return $"{field} holds a control character (U+{(int)value[at]:X4} at character {at + 1}); no name or path may";
            }
        }
        if (request.SampleIds is { Count: var ids } && ids > options.MaxSampleIds)
        {
            yield return $"{ids:N0} sample ids; at most {options.MaxSampleIds:N0} per job (Owlbox:Gateway:MaxSampleIds)";
        }
        if (Encoding.UTF8.GetByteCount(request.Prompt) is var bytes && bytes > options.MaxPromptBytes)
        {
            yield return $"the prompt is {bytes:N0} bytes; at most {options.MaxPromptBytes:N0} (Owlbox:Gateway:MaxPromptBytes)";
        }
        if (request.Prompt.Split('\n').Length is var lines && lines > options.MaxPromptLines)
        {
            yield return $"the prompt has {lines:N0} lines; at most {options.MaxPromptLines:N0} (Owlbox:Gateway:MaxPromptLines)";
        }
        foreach (var (name, value) in new[] { ("model", request.Model), ("dataset location", request.Dataset.Location), ("dataset kind", request.Dataset.Kind) })
        {
            if (value is { Length: > 4096 })
            {
                yield return $"the {name} is {value.Length:N0} characters; at most 4,096";
            }
        }
    }

    private static async Task<IResult> SubmitAsync(SubmitRequest request, JobSubmitter submitter, GatewayOptions options, CancellationToken cancellationToken)
    {
        if (request.Dataset?.Kind is null || request.Dataset.Location is null || string.IsNullOrWhiteSpace(request.Model) || string.IsNullOrWhiteSpace(request.Prompt))
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["request"] = ["dataset (kind and location), model and prompt are required"] });
        }
        if (Refused(request, options).ToArray() is { Length: > 0 } tooLarge)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["request"] = tooLarge });
        }
        var spec = new JobSpec(request.Dataset, request.Model, request.ModelVariant ?? "model", request.Prompt,
            request.Options ?? DefaultOptions, request.ProposeJobId, request.SampleIds, request.Verification);
        try
        {
            var accepted = await submitter.SubmitAsync(request.JobId ?? Guid.NewGuid(), spec, cancellationToken).ConfigureAwait(false);
            var url = $"/v1/jobs/{accepted.JobId}";
            return Results.Accepted(url, new SubmitResponse(accepted.JobId, accepted.Resumed, accepted.Samples, url));
        }
        catch (JobValidationException e)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["job"] = [.. e.Errors] });
        }
    }

    private static async Task<IResult> StatusAsync(Guid jobId, IJobStore store, TimeSpan stalledAfter, CancellationToken cancellationToken)
    {
        var job = await store.FindAsync(jobId, cancellationToken).ConfigureAwait(false);
        if (job is null)
        {
            return Results.NotFound();
        }
        var samples = await store.ListSamplesAsync(jobId, cancellationToken).ConfigureAwait(false);
        var timed = samples.Where(s => s.Milliseconds is not null).Select(s => s.Milliseconds!.Value).ToArray();
        return Results.Ok(new StatusResponse(job.JobId, job.Status, job.Total, job.Written, job.Failed, job.Pending, job.BoxesAdded,
            job.CreatedUtc, job.FinishedUtc, job.Error, timed.Length > 0 ? Math.Round(timed.Average(), 1) : null,
            samples.Where(s => s.State == SampleState.Failed).Select(s => new Failure(s.SampleId, s.Reason ?? "failed")).ToArray(),
            job.IsStalled(DateTimeOffset.UtcNow, stalledAfter)));
    }

    private static async Task<IResult> CancelAsync(Guid jobId, IJobStore store, CancellationToken cancellationToken)
    {
        var job = await store.FindAsync(jobId, cancellationToken).ConfigureAwait(false);
        if (job is null)
        {
            return Results.NotFound();
        }
        return await store.CancelAsync(jobId, cancellationToken).ConfigureAwait(false)
            ? Results.Ok(new { jobId, status = JobStatus.Cancelled })
            : Results.Conflict(new { jobId, status = job.Status, error = "the job has already ended" });
    }
}
