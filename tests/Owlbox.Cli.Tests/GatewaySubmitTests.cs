using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Owlbox.Cli;
using Owlbox.Contracts.V1;
using Owlbox.Datasets.Proposals;
using Owlbox.Gateway;
using Owlbox.Jobs;

namespace Owlbox.Cli.Tests;

/// <summary>
/// What the gateway's submit endpoint takes and refuses, as <c>owlbox serve</c> composes it (in-memory bus, SQLite job
/// store): every refusal is a 400 in words naming the field, and records nothing.
/// </summary>
public sealed class GatewaySubmitTests : IAsyncLifetime
{
    private const string Key = "gateway-test-key-0123456789";

    private readonly Workspace _ws = new();
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _app = await InProcessGateway.StartAsync(_ws, Key);
        _http = new HttpClient { BaseAddress = new Uri(_app.Urls.First()) };
        _http.DefaultRequestHeaders.Add("x-api-key", Key);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _ws.Dispose();
    }

    private IJobStore Store => _app.Services.GetRequiredService<IJobStore>();

    private string Location => JsonSerializer.Serialize(_ws.Dataset);

    private string Body(Guid jobId, string extra = "") =>
        $$"""{"jobId": "{{jobId}}", "dataset": {"kind": "local", "location": {{Location}}}, "model": "test", "prompt": "red"{{extra}}}""";

    private async Task<(HttpStatusCode Status, string Errors)> SubmitAsync(string body)
    {
        using var response = await _http.PostAsync("/v1/jobs", new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.BadRequest)
        {
            return (response.StatusCode, text);
        }
        // Every 400 is a problem body whose errors say, in words, what is wrong.
        var errors = JsonDocument.Parse(text).RootElement.GetProperty("errors");
        return (response.StatusCode, string.Join("\n", errors.EnumerateObject().SelectMany(e => e.Value.EnumerateArray()).Select(v => v.GetString())));
    }

    [Fact]
    public async Task AProposalIdInUse_IsRefusedForANewJob_AndTheSameJobResumesIntoIt()
    {
        // A set some job left (the CLI's, or this gateway's first job), and a job of the gateway that writes into it.
        var proposals = new ProposalStore(_ws.Dataset);
        proposals.Save(new ProposalSet { JobId = "dup", CreatedUtc = DateTimeOffset.UtcNow, ModelId = "m", ModelType = "owlv2", Prompt = "red", DeleteExisting = "no" });
        var recorded = File.ReadAllText(proposals.PathFor("dup"));
        var first = Guid.NewGuid();
        await Store.TryCreateAsync(first, new JobSpec(new DatasetReference("local", _ws.Dataset), "test", "model", "red", JobApi.DefaultOptions, "dup", null), CancellationToken.None);

        var second = Guid.NewGuid();
        var (status, errors) = await SubmitAsync(Body(second, """, "proposeJobId": "dup" """));
        var unchanged = File.ReadAllText(proposals.PathFor("dup"));
        var (resumed, text) = await SubmitAsync(Body(first, """, "proposeJobId": "dup" """));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("proposal set 'dup' already exists", errors, StringComparison.Ordinal);
        Assert.Null(await Store.FindAsync(second, CancellationToken.None));
        Assert.Equal(recorded, unchanged);
        Assert.True(resumed == HttpStatusCode.Accepted, text);
        Assert.True(JsonDocument.Parse(text).RootElement.GetProperty("resumed").GetBoolean());
    }

    [Fact]
    public async Task APartialOptionsObject_TakesTheDefaultsForWhatItLeavesOut()
    {
        var job = Guid.NewGuid();

        var (status, text) = await SubmitAsync(Body(job, """, "options": {"scoreFloor": 0.3, "NMS": false}"""));

        Assert.True(status == HttpStatusCode.Accepted, text);
        var spec = (await Store.FindAsync(job, CancellationToken.None))!.Spec;
        Assert.Equal(JobApi.DefaultOptions with { ScoreFloor = 0.3, Nms = false }, spec.Options);
    }

    [Theory]
    [InlineData("null", "must be a JSON object (the job), not null")]
    [InlineData("", "the request body is empty, not valid JSON")]
    [InlineData("[1]", "must be a JSON object (the job), not array")]
    [InlineData("""{"jobId": "not-a-guid"}""", "field 'jobId' is not a value it takes")]
    [InlineData("""{"jobId": "7d1b0a52-2a40-4a57-9a8e-2f0f3c0d4e11", "jobId": "7d1b0a52-2a40-4a57-9a8e-2f0f3c0d4e12"}""", "has a key twice")]
    [InlineData("@options:{\"scoreFloor\": 1e400}", "score-floor must be at least 0")]
    [InlineData("@options:{\"deleteExisting\": \"maybe\"}", "options.deleteExisting 'maybe' must be no, matching-prompt or yes")]
    [InlineData("@location:\\u0000", "dataset.location holds a control character (U+0000 at character")]
    [InlineData("@location:\\u001b[2J", "dataset.location holds a control character (U+001B at character")]
    [InlineData("@deep", "nested deeper than 32 levels")]
    public async Task ABodyThatIsNotAJob_Is400_InWords_AndRecordsNothing(string body, string expected)
    {
        var job = Guid.NewGuid();
        body = body switch
        {
            ['@', 'o', 'p', 't', 'i', 'o', 'n', 's', ':', .. var options] => Body(job, $", \"options\": {options}"),
            ['@', 'l', 'o', 'c', .. var rest] => Body(job).Replace(Location, Location[..^1] + rest[6..] + "\"", StringComparison.Ordinal),
            "@deep" => string.Concat(Enumerable.Repeat("{\"a\":", 3000)) + "1" + new string('}', 3000),
            _ => body,
        };

        var (status, errors) = await SubmitAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(expected, errors, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", errors, StringComparison.Ordinal);
        Assert.Null(await Store.FindAsync(job, CancellationToken.None));
    }
}
