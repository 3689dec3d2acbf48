using System.Net;
using System.Net.Sockets;
using System.Net.Http.Json;
using System.Text.Json;
using Owlbox.Cli;

namespace Owlbox.Integration.Tests;

/// <summary>The gateway's HTTP contract, against the four-process deployment.</summary>
public sealed class GatewayApiTests(Infrastructure infra) : IClassFixture<Infrastructure>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("owlbox-gw-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [SkippableFact]
    public async Task Api_AuthenticatesValidatesResumesAndCancels()
    {
        Skip.If(infra.SkipReason is not null, infra.SkipReason);
        var dataset = Datasets.Create(Path.Combine(_root, "data"), 12, seed: 5);
        await using var d = await Deployment.StartAsync(infra, _root);
        using var anonymous = new HttpClient { BaseAddress = d.Gateway().BaseAddress };
        using var http = d.Gateway();

        // No key, wrong key: 401 before anything else.
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/v1/jobs/{Guid.NewGuid()}")).StatusCode);
        anonymous.DefaultRequestHeaders.Add("x-api-key", "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/v1/jobs", new { })).StatusCode);

        // A bad prompt line, an unknown model and a bad option are all reported at once, and nothing is queued.
        var bad = await http.PostAsJsonAsync("/v1/jobs", new
        {
            dataset = new { kind = "local", location = dataset },
            model = "no-such-model",
            prompt = "red (red, 0.5)\nblue (blue, lots)",
            options = new { scoreFloor = 0.1, nms = true, nmsIouThreshold = 7.0, deleteExisting = "no" },
        });
        var problem = await bad.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("unknown model 'no-such-model'", problem, StringComparison.Ordinal);
        Assert.Contains("prompt line 2", problem, StringComparison.Ordinal);
        Assert.Contains("nms-iou-threshold", problem, StringComparison.Ordinal);

        // Submit with our own id, wait, then resubmit it unchanged: resumed, nothing redone, nothing duplicated.
        var jobId = Guid.NewGuid();
        var body = new
        {
            jobId,
            dataset = new { kind = "local", location = dataset },
            model = Deployment.ModelId,
            prompt = Datasets.Prompt,
            options = new { scoreFloor = 0.1, nms = true, nmsIouThreshold = 0.2, classAgnosticNms = false, ignoreSmallerThanPercent = 0.0, ignoreLargerThanPercent = 0.0, deleteExisting = "no" },
        };
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsJsonAsync("/v1/jobs", body)).StatusCode);
        var first = await d.WaitAsync(jobId, Deployment.IsFinal, TimeSpan.FromMinutes(2));
        var boxes = Datasets.BoxesByImage(dataset);
        var again = await http.PostAsJsonAsync("/v1/jobs", body);
        Assert.True(JsonDocument.Parse(await again.Content.ReadAsStringAsync()).RootElement.GetProperty("resumed").GetBoolean());
        var second = await d.WaitAsync(jobId, Deployment.IsFinal, TimeSpan.FromMinutes(2));
        Assert.Equal("completed", second.GetProperty("status").GetString());
        Assert.Equal(Deployment.Written(first), Deployment.Written(second));
        Datasets.AssertSameBoxes(boxes, Datasets.BoxesByImage(dataset));

        // The same id with another spec is refused; a finished job cannot be cancelled; unknown ids are 404.
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsJsonAsync("/v1/jobs", new { body.jobId, body.dataset, body.model, prompt = "green", body.options })).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await http.PostAsync($"/v1/jobs/{jobId}/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/v1/jobs/{Guid.NewGuid()}")).StatusCode);

        // The OpenAPI description lists the job routes.
        var openApi = await anonymous.GetStringAsync("/openapi/v1.json");
        Assert.Contains("/v1/jobs/{jobId}", openApi, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Cli_SubmitsToTheDeploymentAndFollowsToTheEnd()
    {
        Skip.If(infra.SkipReason is not null, infra.SkipReason);
        var dataset = Datasets.Create(Path.Combine(_root, "data"), 15, seed: 9);
        File.WriteAllBytes(Path.Combine(dataset, "zz-broken.png"), [1, 2, 3, 4]);
        await using var d = await Deployment.StartAsync(infra, _root);
        Environment.SetEnvironmentVariable("OWLBOX_IT_KEY", Deployment.ApiKey);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await OwlboxCli.RunAsync(["submit", "--gateway", d.Gateway().BaseAddress!.ToString(), "--api-key-env", "OWLBOX_IT_KEY",
            dataset, "--model", Deployment.ModelId, "--prompt", "red\\nblue (blue, 0.5)", "--poll-seconds", "0.2"], stdout, stderr);

        var output = stdout.ToString();
        Assert.Equal(OwlboxCli.SamplesFailed, exit);
        Assert.Contains("accepted: 16 samples", output, StringComparison.Ordinal);
        Assert.Contains("completed-with-failures: 15 written, 1 failed", output, StringComparison.Ordinal);
        Assert.Contains("zz-broken.png: not a supported image", output, StringComparison.Ordinal);
        Assert.DoesNotContain(Deployment.ApiKey, output + stderr, StringComparison.Ordinal);
    }
}

/// <summary>The gateway as an attacker meets it: what a request may name, and what it may cost.</summary>
public sealed class GatewayAbuseTests(Infrastructure infra, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<Infrastructure>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("owlbox-abuse-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static object Job(string kind, string location, string? prompt = null, string[]? ids = null) => new
    {
        dataset = new { kind, location },
        model = Deployment.ModelId,
        prompt = prompt ?? "red",
        sampleIds = ids,
    };

    private static async Task<(HttpStatusCode Status, string Body)> PostAsync(HttpClient http, object job)
    {
        using var response = await http.PostAsJsonAsync("/v1/jobs", job);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [SkippableFact]
    public async Task RequestsCannotChooseWhereKeysGoOrWhichFoldersAreWritten_AndEveryAbuseGetsAClear4xx()
    {
        Skip.If(infra.SkipReason is not null, infra.SkipReason);
        var inside = Datasets.Create(Path.Combine(_root, "data"), 3, seed: 2);
        var outside = Datasets.Create(Directory.CreateTempSubdirectory("owlbox-not-a-root-").FullName, 3, seed: 2);
        Directory.CreateSymbolicLink(Path.Combine(_root, "escape"), outside);
        using var fakeStudio = new TcpListener(IPAddress.Loopback, 0);
        fakeStudio.Start();
        var port = ((IPEndPoint)fakeStudio.LocalEndpoint).Port;
        await using var d = await Deployment.StartAsync(infra, _root, environmentForAll: new Dictionary<string, string> { ["EI_PROJECT_API_KEY"] = "ei_server_secret" });
        using var http = d.Gateway();
        try
        {
            // A client-chosen Studio endpoint: refused before any call, so the server's key goes nowhere.
            var (eiStatus, eiBody) = await PostAsync(http, Job("edge-impulse", $"http://127.0.0.1:{port}/v1#1"));
            Assert.Equal(HttpStatusCode.BadRequest, eiStatus);
            Assert.Contains("is not one this deployment calls", eiBody, StringComparison.Ordinal);
            await Task.Delay(300);
            Assert.False(fakeStudio.Pending(), "the gateway connected to a client-chosen endpoint");

            // Folders outside the roots, through a link or not, and missing ones: one answer, nothing created.
            var answers = new List<string>();
            foreach (var location in new[] { outside, Path.Combine(_root, "escape"), Path.Combine(_root, "missing"), "/root" })
            {
                var (status, body) = await PostAsync(http, Job("local", location));
                Assert.Equal(HttpStatusCode.BadRequest, status);
                answers.Add(body.Replace(location.Replace("/", "\\/", StringComparison.Ordinal), "<x>", StringComparison.Ordinal).Replace(location, "<x>", StringComparison.Ordinal));
            }
            Assert.Single(answers.Distinct());
            Assert.Contains("is not available", answers[0], StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(outside, ".owlbox")));
            Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(http, Job("local", "data"))).Status); // relative

            // Caps: ids, prompt lines and bytes, body size; an empty location; none echoes the request back.
            var (idsStatus, idsBody) = await PostAsync(http, Job("local", inside, ids: Enumerable.Range(0, 50_001).Select(i => $"i{i}").ToArray()));
            Assert.Equal(HttpStatusCode.BadRequest, idsStatus);
            Assert.Contains("50,001 sample ids; at most 50,000", idsBody, StringComparison.Ordinal);
            Assert.True(idsBody.Length < 2000, $"{idsBody.Length} characters of error");
            var (linesStatus, linesBody) = await PostAsync(http, Job("local", inside, prompt: string.Join("\n", Enumerable.Repeat("red", 101))));
            Assert.Equal((HttpStatusCode.BadRequest, true), (linesStatus, linesBody.Contains("101 lines; at most 100", StringComparison.Ordinal)));
            Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(http, Job("local", inside, prompt: new string('r', 9000)))).Status);
            Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(http, Job("local", ""))).Status);
            using var big = new ByteArrayContent(new byte[2 << 20]);
            big.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            // Expect: 100-continue, as curl sends for a large body: the gateway refuses on the declared length and the
            // client never sends the body (without it, the refusal can close the connection mid-upload: a broken pipe).
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = big };
            request.Headers.ExpectContinue = true;
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await http.SendAsync(request)).StatusCode);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [SkippableFact]
    public async Task UnauthenticatedLargeBodies_CostTheGatewayNextToNothing()
    {
        Skip.If(infra.SkipReason is not null, infra.SkipReason);
        await using var d = await Deployment.StartAsync(infra, _root);
        using var anonymous = new HttpClient { BaseAddress = d.Gateway().BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        // A well-formed job with a 25 MB prompt: parsing it before the key check held every prompt in memory.
        var body = System.Text.Encoding.UTF8.GetBytes($$"""{"dataset": {"kind": "local", "location": "/x"}, "model": "m", "prompt": "{{new string('a', 25 << 20)}}"}""");
        // Warm up (JIT, first connection), then take the peak from here.
        await anonymous.GetAsync($"/v1/jobs/{Guid.NewGuid()}");
        var before = PeakRssMegabytes(d["gateway"].Pid, reset: true);

        var answers = await Task.WhenAll(Enumerable.Range(0, 24).Select(async _ =>
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            try
            {
                using var response = await anonymous.PostAsync("/v1/jobs", content);
                return response.StatusCode;
            }
            catch (HttpRequestException)
            {
                return HttpStatusCode.Unauthorized; // the gateway answered and closed before taking the whole body
            }
        }));
        var peak = PeakRssMegabytes(d["gateway"].Pid, reset: false);

        output.WriteLine($"gateway peak RSS {before} MB before, {peak} MB during 24 concurrent unauthenticated 25 MB bodies (+{peak - before} MB)");
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Unauthorized, a));
        Assert.True(peak - before < 100, $"the gateway grew by {peak - before} MB for bodies it should never read");
    }

    /// <summary>VmHWM of a process, after resetting it (clear_refs 5) when asked.</summary>
    private static long PeakRssMegabytes(int pid, bool reset)
    {
        if (reset)
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
        }
        var line = File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
    }
}
