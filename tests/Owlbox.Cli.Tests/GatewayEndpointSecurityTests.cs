using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Owlbox.Cli;
using Owlbox.Contracts.V1;
using Owlbox.Gateway;
using Owlbox.Jobs;
using Owlbox.TestSupport;

namespace Owlbox.Cli.Tests;

/// <summary>
/// The gateway as <c>owlbox serve</c> composes it, on Kestrel at a loopback port (in-memory bus, SQLite job store):
/// every route its endpoint data sources hold is tried without the key and with it, in every spelling of its path.
/// Only the endpoints marked anonymous answer without the key, no handler runs, and no body over the limit is taken.
/// </summary>
public sealed class GatewayEndpointSecurityTests : IAsyncLifetime
{
    private const string Key = "gateway-test-key-0123456789";
    private const long Limit = 64 * 1024;
    private static readonly string[] s_anonymous = ["/healthz", "/openapi/{documentName}.json", "/readyz"];

    private readonly Workspace _ws = new();
    private readonly Guid _probeJob = Guid.NewGuid();
    private readonly Guid _existingJob = Guid.NewGuid();
    private WebApplication _app = null!;
    private HttpClient _http = null!;
    private Uri _server = null!;

    public async Task InitializeAsync()
    {
        _app = await InProcessGateway.StartAsync(_ws, Key, $"--Owlbox:Gateway:MaxRequestBytes={Limit}");
        _server = new Uri(_app.Urls.First());
        _http = new HttpClient();
        // A job a status or cancel request can find: a handler that ran would answer 200, or cancel it.
        await Store.TryCreateAsync(_existingJob, Spec, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _ws.Dispose();
    }

    private IJobStore Store => _app.Services.GetRequiredService<IJobStore>();

    private JobSpec Spec => new(new DatasetReference("local", _ws.Dataset), "test", "model", "red", JobApi.DefaultOptions, "preview", null);

    private IReadOnlyDictionary<string, string> Values => new Dictionary<string, string>
    {
        ["jobId"] = _existingJob.ToString(),
        ["documentName"] = "v1",
    };

    /// <summary>A job the gateway would accept and run: a handler reached without the key would record it.</summary>
    private string ProbeBody => $$"""
        {"jobId": "{{_probeJob}}", "dataset": {"kind": "local", "location": {{System.Text.Json.JsonSerializer.Serialize(_ws.Dataset)}}},
         "model": "test", "prompt": "red", "proposeJobId": "probe"}
        """;

    private async Task<HttpResponseMessage> SendAsync(string method, string path, string? key, HttpContent? content = null)
    {
        using var request = EndpointProbe.Request(_server, method, path);
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("x-api-key", key);
        }
        request.Content = content;
        return await _http.SendAsync(request);
    }

    private static StringContent Json(string body) => new StringContent(body, Encoding.UTF8, "application/json");

    [Fact]
    public async Task EveryRoute_WithoutTheKey_IsRefusedInEverySpelling_AndNoHandlerRuns()
    {
        var routes = EndpointProbe.Routes(_app);
        Assert.Contains(routes, r => r.ToString() == "POST /v1/jobs/");
        var failures = new List<string>();
        foreach (var route in routes.Where(r => !r.Anonymous))
        {
            foreach (var spelling in EndpointProbe.Spellings(route, Values))
            {
                foreach (var key in new[] { null, "", "wrong-key-0123456789abcdef", Key.ToUpperInvariant() })
                {
                    using var response = await SendAsync(route.Method, spelling.Path, key, route.Method == "POST" ? Json(ProbeBody) : null);
                    // A spelling that reaches the route must meet the key check; any other must reach nothing.
                    if (spelling.Routes
                        ? response.StatusCode != HttpStatusCode.Unauthorized
                        : response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed or HttpStatusCode.BadRequest))
                    {
                        failures.Add($"{route.Method} {spelling.Path} with key '{key}': {(int)response.StatusCode}");
                    }
                    if (response.StatusCode == HttpStatusCode.Unauthorized && response.Headers.ConnectionClose != true)
                    {
                        failures.Add($"{route.Method} {spelling.Path}: 401 keeps the connection (its body would be drained)");
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.Null(await Store.FindAsync(_probeJob, CancellationToken.None));
        Assert.NotEqual(JobStatus.Cancelled, await Store.GetStatusAsync(_existingJob, CancellationToken.None));
        // Answering without the key is a decision made per endpoint, never a default.
        Assert.Equal(s_anonymous, routes.Where(r => r.Anonymous).Select(r => r.Pattern).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task EveryRoute_WithTheKey_IsReachedInEverySpellingThatRoutes_AndAnonymousOnesWithout()
    {
        var failures = new List<string>();
        foreach (var route in EndpointProbe.Routes(_app))
        {
            foreach (var spelling in EndpointProbe.Spellings(route, Values).Where(s => s.Routes))
            {
                // An empty object: the submit handler answers 400 naming what is missing, and starts nothing.
                using var response = await SendAsync(route.Method, spelling.Path, route.Anonymous ? null : Key, route.Method == "POST" ? Json("{}") : null);
                if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed)
                {
                    failures.Add($"{route.Method} {spelling.Path}: {(int)response.StatusCode}");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.Equal(JobStatus.Cancelled, await Store.GetStatusAsync(_existingJob, CancellationToken.None)); // the handler ran
    }

    [Fact]
    public async Task EveryPostRoute_RefusesABodyOverTheLimit_InEverySpelling_AndWithoutTheKeyNeverReadsIt()
    {
        var posts = EndpointProbe.Routes(_app).Where(r => r.Method == "POST" && !r.Anonymous).ToArray();
        Assert.NotEmpty(posts);
        // Expect: 100-continue: the body goes only when the server asks for it, so the test sees whether it was taken.
        using var http = new HttpClient(new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromMinutes(1) });
        var failures = new List<string>();
        foreach (var route in posts)
        {
            if (route.Endpoint.Metadata.GetMetadata<IRequestSizeLimitMetadata>()?.MaxRequestBodySize is not Limit)
            {
                failures.Add($"{route}: no body limit of its own");
            }
            foreach (var spelling in EndpointProbe.Spellings(route, Values).Where(s => s.Routes))
            {
                foreach (var key in new[] { Key, null })
                {
                    var content = new EndpointProbe.OversizedContent(Limit + 1);
                    using var request = EndpointProbe.Request(_server, "POST", spelling.Path);
                    request.Headers.ExpectContinue = true;
                    if (key is not null)
                    {
                        request.Headers.TryAddWithoutValidation("x-api-key", key);
                    }
                    request.Content = content;
                    using var response = await http.SendAsync(request);
                    // Refused before any handler: also by one that never reads its body (cancel), which would act.
                    var expected = key is null ? HttpStatusCode.Unauthorized : HttpStatusCode.RequestEntityTooLarge;
                    if (content.Sent || response.StatusCode != expected)
                    {
                        failures.Add($"{route.Method} {spelling.Path} {(key is null ? "without" : "with")} the key: {(int)response.StatusCode}{(content.Sent ? ", the body was taken" : "")}");
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.NotEqual(JobStatus.Cancelled, await Store.GetStatusAsync(_existingJob, CancellationToken.None));
    }

    [Fact]
    public async Task AllowAnonymous_WithoutKeys_LetsEveryCallerIn_ForLocalDevelopment()
    {
        using var ws = new Workspace();
        await using var app = ServeCommand.Build([
            "--urls", "http://127.0.0.1:0", "--Owlbox:Gateway:AllowAnonymous=true", $"--Owlbox:SqlitePath={Path.Combine(ws.Root, "jobs.db")}",
        ]);
        await app.StartAsync();
        var job = Guid.NewGuid();
        await app.Services.GetRequiredService<IJobStore>().TryCreateAsync(job, Spec, CancellationToken.None);
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/v1/jobs/{job}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync($"/V1/Jobs/{job}/cancel", null)).StatusCode);
        await app.StopAsync();
    }
}
