using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Owlbox.Contracts.V1;
using Owlbox.Gateway;
using Owlbox.Hosting;
using Owlbox.Jobs;
using Owlbox.Pipeline;

namespace Owlbox.Cli.Tests;

/// <summary>The one-process gates, which live in the bus pipeline: they fill, they hold, and every image and sample
/// that enters leaves (a leak would leave a count behind, or stall the job once the gate is full).</summary>
public sealed class BackPressureTests : IDisposable
{
    private readonly Workspace _workspace = new Workspace().WithCopies(7);

    [Fact]
    public async Task AJobManyTimesLargerThanTheGates_FillsThemAndLeavesThemEmpty()
    {
        var options = new OwlboxOptions
        {
            SqlitePath = Path.Combine(_workspace.Root, "jobs.db"),
            AllowModelDirectories = true,
            Datasets = { AllowAnyFolder = true },
            Detector = { BatchMessageLimit = 2 },
            Fetcher = { Concurrency = 2 },
            Engine = new() { ExecutionProvider = "cpu" },
        };
        using var host = Host.CreateDefaultBuilder().ConfigureServices(s => s.AddOwlbox(options)).Build();
        await host.StartAsync();
        var gates = host.Services.GetRequiredService<OneProcessGates>();
        var store = host.Services.GetRequiredService<IJobStore>();
        Assert.Equal((8, 4), (gates.Samples.Capacity, gates.Images.Capacity));
        Assert.True(_workspace.Images.Count > 5 * gates.Samples.Capacity, "the job must be much larger than the gates");

        var jobId = Guid.NewGuid();
        using (var scope = host.Services.CreateScope())
        {
            await scope.ServiceProvider.GetRequiredService<JobSubmitter>().SubmitAsync(jobId,
                new JobSpec(new DatasetReference("local", _workspace.Dataset), Workspace.Owlv2Model, "model", "red (red, 0.3)", JobApi.DefaultOptions, null, null), default);
        }
        var (fullImages, fullSamples) = (false, false);
        JobRecord job;
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (!(job = (await store.FindAsync(jobId, default))!).Status.IsFinal() && DateTime.UtcNow < deadline)
        {
            fullImages |= gates.Images.Count == gates.Images.Capacity;
            fullSamples |= gates.Samples.Count == gates.Samples.Capacity;
            await Task.Delay(2);
        }
        await host.StopAsync();

        Assert.Equal(JobStatus.Completed, job.Status);
        Assert.Equal(_workspace.Images.Count, job.Written);
        Assert.True(fullImages, "the image gate never filled: nothing held the fetchers back");
        Assert.True(fullSamples, "the sample gate never filled: nothing held the expansion back");
        Assert.Equal(0, gates.Images.Count);
        Assert.Equal(0, gates.Samples.Count);
    }

    public void Dispose() => _workspace.Dispose();
}
