using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Json;

namespace Owlbox.EdgeImpulseEmulator;

/// <summary>
/// The Studio endpoints an AI labeling block uses, under <c>/v1/api/...</c>, answering the real JSON shapes:
/// <c>success</c> on every reply, errors as <c>success: false</c> with a message (status 200, as the OpenAPI
/// declares; 401 for a bad key), integer-only boxes as the Python SDK's StrictInt demands.
/// </summary>
public static class EmulatorApp
{
    /// <param name="requests">When given, every API call is added as "METHOD path?query", for tests to read.</param>
    public static WebApplication Build(string dataDirectory, string? apiKey, string[] urls, EmulatorFaults? faults = null,
        System.Collections.Concurrent.ConcurrentQueue<string>? requests = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls(urls);
        builder.Services.Configure<JsonOptions>(o => o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase);
        var state = new EmulatorState(dataDirectory, apiKey);
        faults ??= new EmulatorFaults();
        var app = builder.Build();
        var calls = 0;

        app.MapPost("/_emulator/faults", (EmulatorFaults f) =>
        {
            (faults.LatencyMs, faults.FailEveryNth, faults.HangEveryNth, faults.HangMs, faults.CorruptImageSampleIds) =
                (f.LatencyMs, f.FailEveryNth, f.HangEveryNth, f.HangMs, f.CorruptImageSampleIds);
            return Results.Ok(new { success = true });
        });

        // Test set-up only: a sample as Studio may hold it but its API would not let a client write it (a 64-bit id,
        // another category, fractional boxes from an upload), stored as given.
        app.MapPost("/_emulator/samples/{sampleId:long}", (long sampleId, JsonObject body) =>
        {
            state.Write(d =>
            {
                var sample = d.Samples.Single(s => s.Id == sampleId);
                sample.Id = body["id"]?.GetValue<long>() ?? sample.Id;
                sample.Category = body["category"]?.GetValue<string>() ?? sample.Category;
                if (body["boundingBoxes"] is JsonArray boxes)
                {
                    sample.BoundingBoxes = boxes.Select(b => b!.AsObject().DeepClone().AsObject()).ToList();
                }
            });
            return Results.Ok(new { success = true });
        });

        var api = app.MapGroup("/v1/api").AddEndpointFilter(async (context, next) =>
        {
            requests?.Enqueue($"{context.HttpContext.Request.Method} {context.HttpContext.Request.Path}{context.HttpContext.Request.QueryString}");
            var n = Interlocked.Increment(ref calls);
            if (faults.LatencyMs > 0)
            {
                await Task.Delay(faults.LatencyMs);
            }
            if (faults.HangEveryNth > 0 && n % faults.HangEveryNth == 0)
            {
                await Task.Delay(faults.HangMs);
            }
            if (faults.FailEveryNth > 0 && n % faults.FailEveryNth == 0)
            {
                return Results.Json(new { success = false, error = "injected 503" }, statusCode: 503);
            }
            var key = context.HttpContext.Request.Headers["x-api-key"].ToString();
            if (key != state.Read(d => d.ApiKey))
            {
                return Results.Json(new { success = false, error = "Invalid API key" }, statusCode: 401);
            }
            return await next(context);
        });

        api.MapGet("/projects", () => state.Read(d => Results.Json(new
        {
            success = true,
            projects = new[] { Project(d) },
        })));

        // Disabled samples are left out of a listing unless asked for (includeDisabled), as Studio's UI lists them apart.
        api.MapGet("/{projectId:int}/raw-data", (int projectId, string? category, int? limit, int? offset, int? proposedActionsJobId, bool? includeDisabled) =>
        {
            if (Missing(projectId) is { } notFound)
            {
                return notFound;
            }
            if (string.IsNullOrEmpty(category))
            {
                return Fail("category is required");
            }
            return state.Read(d =>
            {
                var inCategory = d.Samples.Where(s => s.Category == category && (includeDisabled == true || !s.IsDisabled)).OrderBy(s => s.Id).ToArray();
                var page = inCategory.Skip(offset ?? 0).Take(limit ?? 20).Select(s => Sample(d, s, proposedActionsJobId)).ToArray();
                return Results.Json(new { success = true, samples = page, totalCount = inCategory.Length });
            });
        });

        api.MapGet("/{projectId:int}/raw-data/{sampleId:long}", (int projectId, long sampleId, int? proposedActionsJobId) =>
            Missing(projectId, sampleId) ?? state.Read(d => Results.Json(new
            {
                success = true,
                sample = Sample(d, d.Samples.Single(s => s.Id == sampleId), proposedActionsJobId),
                payload = new { device_type = "CAMERA", sensors = Array.Empty<object>(), values = Array.Empty<object>() },
                totalPayloadLength = 0,
            })));

        api.MapGet("/{projectId:int}/raw-data/{sampleId:long}/image", (int projectId, long sampleId) =>
        {
            if (Missing(projectId, sampleId) is { } notFound)
            {
                return notFound;
            }
            var file = state.Read(d => d.Samples.Single(s => s.Id == sampleId).Filename);
            var bytes = File.ReadAllBytes(Path.Combine(state.Directory, file));
            if (faults.CorruptImageSampleIds.Contains(sampleId))
            {
                bytes = bytes[..(bytes.Length / 2)];
            }
            return Results.Bytes(bytes, string.Equals(Path.GetExtension(file), ".png", StringComparison.OrdinalIgnoreCase) ? "image/png" : "image/jpeg");
        });

        api.MapPost("/{projectId:int}/raw-data/{sampleId:long}/bounding-boxes", async (int projectId, long sampleId, HttpRequest request) =>
        {
            if ((Missing(projectId, sampleId) ?? DeletedAtWrite(sampleId)) is { } notFound)
            {
                return notFound;
            }
            var body = await ReadObjectAsync(request);
            if (body?["boundingBoxes"] is not JsonArray boxes)
            {
                return Fail("boundingBoxes is required");
            }
            if (ValidateBoxes(boxes) is { } problem)
            {
                return Fail(problem);
            }
            state.Write(d => d.Samples.Single(s => s.Id == sampleId).BoundingBoxes = boxes.Select(b => b!.AsObject().DeepClone().AsObject()).ToList());
            return Ok();
        });

        api.MapPost("/{projectId:int}/raw-data/{sampleId:long}/metadata", async (int projectId, long sampleId, HttpRequest request) =>
        {
            if ((Missing(projectId, sampleId) ?? DeletedAtWrite(sampleId)) is { } notFound)
            {
                return notFound;
            }
            var body = await ReadObjectAsync(request);
            if (body?["metadata"] is not JsonObject metadata || metadata.Any(kv => kv.Value?.GetValueKind() != JsonValueKind.String))
            {
                return Fail("metadata must be an object of string values");
            }
            // Replace: every block sends the sample's existing metadata merged with its own keys.
            state.Write(d => d.Samples.Single(s => s.Id == sampleId).Metadata = metadata.ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>()));
            return Ok();
        });

        api.MapPost("/{projectId:int}/raw-data/{sampleId:long}/propose-changes", async (int projectId, long sampleId, HttpRequest request) =>
        {
            if ((Missing(projectId, sampleId) ?? DeletedAtWrite(sampleId)) is { } notFound)
            {
                return notFound;
            }
            var body = await ReadObjectAsync(request);
            if (body?["jobId"] is not JsonValue job || !job.TryGetValue<int>(out var jobId) || body["proposedChanges"] is not JsonObject changes)
            {
                return Fail("jobId (integer) and proposedChanges are required");
            }
            if (changes["boundingBoxes"] is JsonArray boxes && ValidateBoxes(boxes) is { } problem)
            {
                return Fail(problem);
            }
            state.Write(d => d.Samples.Single(s => s.Id == sampleId).ProposedChanges[jobId] = changes.DeepClone().AsObject());
            return Ok();
        });

        api.MapGet("/{projectId:int}/raw-data/ai-actions-preview/{jobId:int}/proposed-changes", (int projectId, int jobId) =>
            Missing(projectId) ?? state.Read(d => Results.Json(new
            {
                success = true,
                proposedChanges = d.Samples.Where(s => s.ProposedChanges.ContainsKey(jobId))
                    .Select(s => new { sampleId = s.Id, step = 1, proposedChanges = s.ProposedChanges[jobId] }).ToArray(),
            })));

        api.MapPost("/{projectId:int}/raw-data/{sampleId:long}/disable", (int projectId, long sampleId) =>
            Missing(projectId, sampleId) ?? Change(sampleId, s => s.IsDisabled = true));

        api.MapPost("/{projectId:int}/raw-data/{sampleId:long}/enable", (int projectId, long sampleId) =>
            Missing(projectId, sampleId) ?? Change(sampleId, s => s.IsDisabled = false));

        return app;

        IResult? Missing(int projectId, long? sampleId = null) =>
            projectId != state.Read(d => d.ProjectId) ? Fail($"Project {projectId} not found")
            : sampleId is { } id && !state.Read(d => d.Samples.Any(s => s.Id == id)) ? Fail($"Sample {id} not found")
            : null;

        IResult? DeletedAtWrite(long sampleId) => faults.DeletedAtWriteSampleIds.Contains(sampleId) ? Fail($"Sample {sampleId} not found") : null;

        IResult Change(long sampleId, Action<EmulatorState.Sample> change)
        {
            state.Write(d => change(d.Samples.Single(s => s.Id == sampleId)));
            return Ok();
        }
    }

    private static IResult Ok() => Results.Json(new { success = true });

    private static IResult Fail(string error) => Results.Json(new { success = false, error });

    private static async Task<JsonObject?> ReadObjectAsync(HttpRequest request)
    {
        try
        {
            return await JsonNode.ParseAsync(request.Body) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Like the official SDKs: a string label, integer coordinates (10.0 is refused), positive size.</summary>
    private static string? ValidateBoxes(JsonArray boxes)
    {
        for (var i = 0; i < boxes.Count; i++)
        {
            if (boxes[i] is not JsonObject b || b["label"]?.GetValueKind() != JsonValueKind.String || string.IsNullOrEmpty(b["label"]!.GetValue<string>()))
            {
                return $"boundingBoxes[{i}].label must be a non-empty string";
            }
            foreach (var field in new[] { "x", "y", "width", "height" })
            {
                var raw = b[field]?.ToJsonString();
                if (raw is null || !int.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
                {
                    return $"boundingBoxes[{i}].{field} must be an integer, got {raw ?? "nothing"}";
                }
                if (field is "width" or "height" && v <= 0)
                {
                    return $"boundingBoxes[{i}].{field} must be positive";
                }
            }
        }
        return null;
    }

    private static object Project(EmulatorState.Data d) => new
    {
        id = d.ProjectId,
        name = d.ProjectName,
        description = "",
        created = "2026-01-01T00:00:00.000Z",
        owner = "Owlbox",
        ownerIsDeveloperProfile = false,
        collaborators = Array.Empty<object>(),
        labelingMethod = "object_detection",
        metadata = new Dictionary<string, string>(),
        isEnterpriseProject = false,
        whitelabelId = (int?)null,
        tier = "professional",
        hasPublicVersion = false,
        isPublic = false,
        allowsLivePublicAccess = false,
        indPauseProcessingSamples = false,
        publicProjectListed = false,
    };

    /// <summary>With <paramref name="proposedActionsJobId"/>, as Studio shows a sample to a later step of a multi-step
    /// AI action: with the boxes and metadata that job proposed for it, where it proposed any.</summary>
    private static object Sample(EmulatorState.Data d, EmulatorState.Sample s, int? proposedActionsJobId = null)
    {
        var proposed = proposedActionsJobId is { } job && s.ProposedChanges.TryGetValue(job, out var changes) ? changes : null;
        var boxes = proposed?["boundingBoxes"] is JsonArray b ? b.Select(x => x!.AsObject()).ToList() : s.BoundingBoxes;
        var metadata = proposed?["metadata"] is JsonObject m ? m.ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>()) : s.Metadata;
        return Sample(d, s, boxes, metadata);
    }

    private static object Sample(EmulatorState.Data d, EmulatorState.Sample s, List<JsonObject> boundingBoxes, Dictionary<string, string> metadata) => new
    {
        id = s.Id,
        filename = s.Filename,
        signatureValidate = true,
        signatureMethod = "none",
        signatureKey = "",
        created = "2026-01-01T00:00:00.000Z",
        lastModified = "2026-01-01T00:00:00.000Z",
        added = "2026-01-01T00:00:00.000Z",
        category = s.Category,
        coldstorageFilename = s.Filename,
        label = s.Label,
        intervalMs = 0,
        frequency = 0,
        originalIntervalMs = 0,
        originalFrequency = 0,
        deviceType = "CAMERA",
        sensors = Array.Empty<object>(),
        valuesCount = 1,
        boundingBoxes,
        boundingBoxesType = "object_detection",
        chartType = "image",
        isDisabled = s.IsDisabled,
        isProcessing = false,
        processingError = false,
        isCropped = false,
        projectId = d.ProjectId,
        sha256Hash = "",
        metadata,
    };
}
