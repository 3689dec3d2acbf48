using System.Net;
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
