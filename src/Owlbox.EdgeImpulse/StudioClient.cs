using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Owlbox.EdgeImpulse;

/// <summary>Retry and timeout policy for Studio calls.</summary>
public sealed record StudioClientOptions
{
    /// <summary>Attempts per call, the first included (default 4).</summary>
    public int Attempts { get; init; } = 4;

    /// <summary>First backoff; doubles each retry (default 500 ms).</summary>
    public TimeSpan Backoff { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Per-attempt timeout (default 60 s; the original block's forks used 30-60 s).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// A typed client for the Edge Impulse Studio API (<c>{EI_API_ENDPOINT}/api/...</c>, <c>x-api-key</c> auth). Transient
/// failures (5xx, 408, 429, connection errors, timeouts) are retried with exponential backoff; <c>success: false</c>
/// and other 4xx are errors with Studio's message. The key is set as a header once and never appears in messages.
/// </summary>
public sealed class StudioClient : IDisposable
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;
    private readonly StudioClientOptions _options;

    /// <param name="endpoint">Like <c>https://studio.edgeimpulse.com/v1</c> (EI_API_ENDPOINT).</param>
    public StudioClient(string endpoint, string apiKey, StudioClientOptions? options = null, HttpMessageHandler? handler = null)
    {
        _options = options ?? new StudioClientOptions();
        _http = handler is null ? new HttpClient() : new HttpClient(handler);
        _http.BaseAddress = new Uri(endpoint.TrimEnd('/') + "/");
        _http.Timeout = System.Threading.Timeout.InfiniteTimeSpan; // per attempt instead, below
        _http.DefaultRequestHeaders.Add("x-api-key", apiKey);
    }

    public async Task<IReadOnlyList<StudioProject>> ListProjectsAsync(CancellationToken cancellationToken)
    {
        var r = await SendAsync<ProjectsResponse>(HttpMethod.Get, "api/projects", null, cancellationToken).ConfigureAwait(false);
        return r.Projects ?? [];
    }

    /// <summary>One page of samples of a category ("training", "testing", ...).</summary>
    public async Task<(IReadOnlyList<StudioSample> Samples, int TotalCount)> ListSamplesAsync(
        int projectId, string category, int limit, int offset, int? proposedActionsJobId, CancellationToken cancellationToken)
    {
        var query = $"api/{projectId}/raw-data?category={category}&limit={limit}&offset={offset}" +
            (proposedActionsJobId is { } job ? $"&proposedActionsJobId={job}" : "");
        var r = await SendAsync<SamplesResponse>(HttpMethod.Get, query, null, cancellationToken).ConfigureAwait(false);
        return (r.Samples ?? [], r.TotalCount);
    }

    public async Task<StudioSample> GetSampleAsync(int projectId, long sampleId, int? proposedActionsJobId, CancellationToken cancellationToken)
    {
        var path = $"api/{projectId}/raw-data/{sampleId}" + (proposedActionsJobId is { } job ? $"?proposedActionsJobId={job}" : "");
        var r = await SendAsync<SampleResponse>(HttpMethod.Get, path, null, cancellationToken).ConfigureAwait(false);
        return r.Sample ?? throw new StudioApiException($"sample {sampleId}: Studio returned no sample");
    }

    public Task<byte[]> GetSampleImageAsync(int projectId, long sampleId, CancellationToken cancellationToken) =>
        WithRetriesAsync(async ct =>
        {
            using var response = await _http.GetAsync($"api/{projectId}/raw-data/{sampleId}/image", ct).ConfigureAwait(false);
            await ThrowIfFailedAsync(response, ct).ConfigureAwait(false);
            return await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>Replaces the sample's boxes (integers: Studio's Python SDK rejects 10.0).</summary>
    public Task SetBoundingBoxesAsync(int projectId, long sampleId, IReadOnlyList<StudioBoundingBox> boxes, CancellationToken cancellationToken) =>
        SendAsync<GenericResponse>(HttpMethod.Post, $"api/{projectId}/raw-data/{sampleId}/bounding-boxes", new { boundingBoxes = boxes }, cancellationToken);

    public Task SetMetadataAsync(int projectId, long sampleId, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken) =>
        SendAsync<GenericResponse>(HttpMethod.Post, $"api/{projectId}/raw-data/{sampleId}/metadata", new { metadata }, cancellationToken);

    /// <summary>Preview mode: stores proposed changes under the AI-action job; overwrites earlier proposals for the sample.</summary>
    public Task SetProposedChangesAsync(int projectId, long sampleId, int jobId, StudioProposedChanges changes, CancellationToken cancellationToken) =>
        SendAsync<GenericResponse>(HttpMethod.Post, $"api/{projectId}/raw-data/{sampleId}/propose-changes", new { jobId, proposedChanges = changes }, cancellationToken);

    public Task DisableSampleAsync(int projectId, long sampleId, CancellationToken cancellationToken) =>
        SendAsync<GenericResponse>(HttpMethod.Post, $"api/{projectId}/raw-data/{sampleId}/disable", null, cancellationToken);

    public Task EnableSampleAsync(int projectId, long sampleId, CancellationToken cancellationToken) =>
        SendAsync<GenericResponse>(HttpMethod.Post, $"api/{projectId}/raw-data/{sampleId}/enable", null, cancellationToken);

    public void Dispose() => _http.Dispose();

    private Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellationToken) =>
        WithRetriesAsync(async ct =>
        {
            using var request = new HttpRequestMessage(method, path);
            if (body is not null)
            {
                request.Content = JsonContent.Create(body, options: s_json);
            }
            using var response = await _http.SendAsync(request, ct).ConfigureAwait(false);
            await ThrowIfFailedAsync(response, ct).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            using var doc = JsonDocument.Parse(text);
            if (!doc.RootElement.TryGetProperty("success", out var success) || !success.GetBoolean())
            {
                var error = doc.RootElement.TryGetProperty("error", out var e) ? e.GetString() : "no error message";
                throw new StudioApiException($"{method} {StripQuery(path)}: {error}");
            }
            return JsonSerializer.Deserialize<T>(text, s_json)!;
        }, cancellationToken);

    private async Task<T> WithRetriesAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.Timeout);
            try
            {
                return await call(timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransient(e, cancellationToken))
            {
                if (attempt >= _options.Attempts)
                {
                    // IOException: the caller (a bus consumer) may retry the whole step later.
                    throw new IOException($"Studio call failed {attempt} times, last: {Describe(e)}", e);
                }
                await Task.Delay(_options.Backoff * Math.Pow(2, attempt - 1), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private string Describe(Exception e) => e is OperationCanceledException ? $"no answer within {_options.Timeout.TotalSeconds:0} s" : e.Message;

    private static bool IsTransient(Exception e, CancellationToken cancellationToken) => e switch
    {
        TransientStudioException => true,
        HttpRequestException => true,
        OperationCanceledException => !cancellationToken.IsCancellationRequested, // our per-attempt timeout
        _ => false,
    };

    private static async Task ThrowIfFailedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        var status = (int)response.StatusCode;
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var where = $"{response.RequestMessage?.Method} {StripQuery(response.RequestMessage?.RequestUri?.AbsolutePath ?? "")}";
        if (status >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests)
        {
            throw new TransientStudioException($"{where}: HTTP {status}");
        }
        throw new StudioApiException($"{where}: HTTP {status} {Truncate(body)}", status);
    }

    private static string StripQuery(string path) => path.Split('?')[0];

    private static string Truncate(string s) => s.Length > 300 ? s[..300] + "…" : s;

    private sealed class TransientStudioException(string message) : Exception(message);
}
