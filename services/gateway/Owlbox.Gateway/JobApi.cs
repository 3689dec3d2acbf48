using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Owlbox.Contracts.V1;
using Owlbox.Jobs;

namespace Owlbox.Gateway;

/// <summary>The job API: submit (202, or 400 listing every problem), status, cancel. Every route needs an API key.</summary>
public static class JobApi
{
    public sealed record SubmitRequest(
        Guid? JobId, DatasetReference Dataset, string Model, string? ModelVariant, string Prompt,
        JobOptions? Options, string? ProposeJobId, IReadOnlyList<string>? SampleIds);

    public sealed record SubmitResponse(Guid JobId, bool Resumed, int Samples, string StatusUrl);

    public sealed record Failure(string SampleId, string Reason);

    public sealed record StatusResponse(
        Guid JobId, string Status, int? Total, int Written, int Failed, int Pending, int BoxesAdded,
        DateTimeOffset CreatedUtc, DateTimeOffset? FinishedUtc, string? Error, double? MeanSampleMilliseconds,
        IReadOnlyList<Failure> Failures, bool Stalled);

    /// <summary>The seed block's defaults: NMS on at IoU 0.2, no size limits, existing boxes kept.</summary>
    public static readonly JobOptions DefaultOptions = new(0.1, true, 0.2, false, 0, 0, "no");

    public static IEndpointRouteBuilder MapJobApi(this IEndpointRouteBuilder app, GatewayOptions options)
    {
        if (options.ApiKeys.Count == 0 && !options.AllowAnonymous)
        {
            throw new InvalidOperationException("the gateway has no API keys: set Owlbox__Gateway__ApiKeys__0 (or Owlbox:Gateway:AllowAnonymous=true for local development)");
        }
        var keys = options.ApiKeys.Select(k => Encoding.UTF8.GetBytes(k)).ToArray();
        var jobs = app.MapGroup("/v1/jobs").AddEndpointFilter(async (context, next) =>
        {
            if (keys.Length > 0)
            {
                var given = Encoding.UTF8.GetBytes(context.HttpContext.Request.Headers["x-api-key"].ToString());
                if (!keys.Any(k => CryptographicOperations.FixedTimeEquals(k, given)))
                {
                    return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "missing or wrong x-api-key");
                }
            }
            return await next(context).ConfigureAwait(false);
        });
        jobs.MapPost("/", SubmitAsync).WithName("SubmitJob").WithSummary("Validate, record and queue a labeling job (or resume one by id).");
        jobs.MapGet("/{jobId:guid}", (Guid jobId, IJobStore store, CancellationToken ct) => StatusAsync(jobId, store, options.StalledAfter, ct)).WithName("GetJob").WithSummary("Progress, failures with reasons, and timings of a job.");
        jobs.MapPost("/{jobId:guid}/cancel", CancelAsync).WithName("CancelJob").WithSummary("Cancel a job; finished samples stay written.");
        return app;
    }

    private static async Task<IResult> SubmitAsync(SubmitRequest request, JobSubmitter submitter, CancellationToken cancellationToken)
    {
        if (request.Dataset is null || string.IsNullOrWhiteSpace(request.Model) || string.IsNullOrWhiteSpace(request.Prompt))
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["request"] = ["dataset, model and prompt are required"] });
        }
        var spec = new JobSpec(request.Dataset, request.Model, request.ModelVariant ?? "model", request.Prompt,
            request.Options ?? DefaultOptions, request.ProposeJobId, request.SampleIds);
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
