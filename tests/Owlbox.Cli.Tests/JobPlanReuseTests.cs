using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Gateway;
using Owlbox.Hosting;
using Owlbox.Models;
using Owlbox.Pipeline;

namespace Owlbox.Cli.Tests;

/// <summary>The job is derived once: the plan built at submission is the one every part of the process uses, the model
/// directory and its tokenizer are read once per process, the expansion lists names without reading labels.</summary>
public sealed class JobPlanReuseTests : IDisposable
{
    private readonly Workspace _ws = new();

    public void Dispose() => _ws.Dispose();

    /// <summary>A copy of the test model in this test's workspace, so the reads counted are this test's alone.</summary>
    private string CopyModel()
    {
        var copy = Path.Combine(_ws.Root, "model");
        foreach (var file in Directory.GetFiles(Workspace.Owlv2Model, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(Workspace.Owlv2Model, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return copy;
    }

    [Fact]
    public async Task OneLabelRun_ReadsTheModelDirectoryAndItsTokenizerOnce()
    {
        var model = CopyModel();
        using var reads = new ModelReadCounter(model);

        var (exit, _, err) = await Workspace.RunAsync("label", _ws.Dataset, "--model", model, "--prompt-file", Workspace.PromptFile, "--execution-provider", "cpu");

        Assert.True(exit == OwlboxCli.Ok, err);
        Assert.Equal((1, 1), (reads.Of("config.json"), reads.Of("tokenizer.json")));
    }

    [Fact]
    public async Task TheGatewaysSecondSubmission_ReadsNoModelFileAgain()
    {
        const string key = "gateway-test-key-0123456789";
        var model = CopyModel();
        using var reads = new ModelReadCounter(model);
        var app = await InProcessGateway.StartAsync(_ws, key, $"--Owlbox:Models:copy={model}");
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            http.DefaultRequestHeaders.Add("x-api-key", key);
            async Task<HttpStatusCode> SubmitAsync(string prompt)
            {
                var body = $$"""{"jobId": "{{Guid.NewGuid()}}", "dataset": {"kind": "local", "location": {{JsonSerializer.Serialize(_ws.Dataset)}}}, "model": "copy", "prompt": {{JsonSerializer.Serialize(prompt)}}}""";
                using var response = await http.PostAsync("/v1/jobs", new StringContent(body, Encoding.UTF8, "application/json"));
                return response.StatusCode;
            }

            Assert.Equal(HttpStatusCode.Accepted, await SubmitAsync("red"));
            var afterFirst = (reads.Of("config.json"), reads.Of("tokenizer.json"));
            // Gone from disk now: a submission that read it again would be refused.
            File.Move(Path.Combine(model, "tokenizer.json"), Path.Combine(model, "tokenizer.json.moved"));

            Assert.Equal(HttpStatusCode.Accepted, await SubmitAsync("blue (blue, 0.2)"));
            Assert.Equal((1, 1), afterFirst);
            Assert.Equal((1, 1), (reads.Of("config.json"), reads.Of("tokenizer.json")));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task TheSubmissionsPlan_IsTheOneThePreflightAndTheStagesUse()
    {
        var preflight = new CapturingPreflight();
        var options = new OwlboxOptions
        {
            SqlitePath = Path.Combine(_ws.Root, "jobs.db"),
            AllowModelDirectories = true,
            Datasets = { AllowAnyFolder = true },
            Engine = new() { ExecutionProvider = "cpu" },
        };
        using var host = Host.CreateDefaultBuilder().ConfigureServices(s => s.AddOwlbox(options).AddSingleton<IModelPreflight>(preflight)).Build();
        await host.StartAsync();
        try
        {
            var jobId = Guid.NewGuid();
            JobSubmitter.Accepted accepted;
            using (var scope = host.Services.CreateScope())
            {
                accepted = await scope.ServiceProvider.GetRequiredService<JobSubmitter>().SubmitAsync(jobId,
                    new JobSpec(new DatasetReference("local", _ws.Dataset), Workspace.Owlv2Model, "model", "red (red, 0.3)", JobApi.DefaultOptions, null, null), default);
            }

            Assert.Same(accepted.Plan, Assert.Single(preflight.Plans));
            Assert.Same(accepted.Plan, await host.Services.GetRequiredService<JobPlans>().GetAsync(jobId, default));
            Assert.Equal(["red"], accepted.Plan.Prompt.Labels);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task TheExpansionsListing_ReadsNoLabels_WhileTheSubmissionsCheckDoes()
    {
        File.WriteAllText(_ws.LabelsPath, "{ this is not a labels file");
        var backend = new LocalDatasetBackend(_ws.Dataset);

        var selection = await backend.SelectAsync(null, default);
        var check = await Assert.ThrowsAsync<DatasetException>(() => backend.CheckLabelsAsync(default));

        Assert.Equal(_ws.Images, selection.Found);
        Assert.Contains(LabelsFile.FileName, check.Message, StringComparison.Ordinal);
    }

    private sealed class CapturingPreflight : IModelPreflight
    {
        public ConcurrentQueue<JobPlan> Plans { get; } = new();

        public void Check(JobPlan plan) => Plans.Enqueue(plan);
    }

    /// <summary>Counts <see cref="ModelReads"/> of one model directory, whatever else the process reads meanwhile.</summary>
    private sealed class ModelReadCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, int> _reads = new(StringComparer.Ordinal);

        public ModelReadCounter(string directory)
        {
            var watched = Path.GetFullPath(directory);
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == ModelReads.InstrumentName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                string? file = null, dir = null;
                foreach (var tag in tags)
                {
                    (file, dir) = tag.Key switch { "file" => (tag.Value as string, dir), "directory" => (file, tag.Value as string), _ => (file, dir) };
                }
                if (dir == watched && file is not null)
                {
                    _reads.AddOrUpdate(file, (int)value, (_, n) => n + (int)value);
                }
            });
            _listener.Start();
        }

        public int Of(string file) => _reads.GetValueOrDefault(file);

        public void Dispose() => _listener.Dispose();
    }
}
