using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Owlbox.Contracts.V1;
using Owlbox.Detection.Inference;
using Owlbox.Models;
using Owlbox.Detector;
using Owlbox.Fetcher;
using Owlbox.Jobs;

namespace Owlbox.Cli.Tests;

/// <summary>The fetcher's and the detector's consumers alone, each registered by its own <c>Add&lt;Role&gt;</c>.</summary>
public sealed class FetcherAndDetectorConsumerTests
{
    private sealed class NeverStopping : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;
        public CancellationToken ApplicationStopping => CancellationToken.None;
        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }

    private static Task<ConsumerHarness> FetcherAsync() => ConsumerHarness.StartAsync(
        (services, bus) => services.AddFetcher(bus, new FetcherOptions()),
        services: s => s.AddSingleton<IHostApplicationLifetime, NeverStopping>());

    [Fact]
    public async Task Expand_AsksForEverySample_AndFailsIdsNotFound()
    {
        await using var h = await FetcherAsync();
        var spec = (await h.Store.FindAsync(h.JobId, default))!.Spec with { SampleIds = ["wide-640x360.jpg", "busy-800x450", "ghost.png"] };

        await h.ConsumeAsync(new LabelingJobSubmitted(h.JobId, spec));

        Assert.Equal(["busy-800x450.jpg", "wide-640x360.jpg"], (await h.PublishedAsync<FetchSample>()).Select(f => f.SampleId).Order(StringComparer.Ordinal));
        Assert.Equal("ghost.png", Assert.Single(await h.PublishedAsync<SampleFailed>()).SampleId);
        Assert.Equal(3, (await h.Store.FindAsync(h.JobId, default))!.Total);
    }

    [Fact]
    public async Task Fetch_SendsTheImageBytes_FailsAMissingOne_AndDropsAnOverJob()
    {
        await using var h = await FetcherAsync();
        await h.RegisterAllImagesAsync();

        await h.ConsumeAsync(new FetchSample(h.JobId, "wide-640x360.jpg"));
        await h.ConsumeAsync(new FetchSample(h.JobId, "gone.jpg"));
        await h.Store.CancelAsync(h.JobId, default);
        await h.ConsumeAsync(new FetchSample(h.JobId, "busy-800x450.jpg"));

        var fetched = Assert.Single(await h.PublishedAsync<ImageFetched>());
        Assert.Equal("wide-640x360.jpg", fetched.SampleId);
        Assert.Equal(File.ReadAllBytes(Path.Combine(h.Workspace.Dataset, "wide-640x360.jpg")), await fetched.Image.Value);
        Assert.Contains("no longer in", Assert.Single(await h.PublishedAsync<SampleFailed>()).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Detect_FindsTheDrawnObjects_AndFailsACorruptImage()
    {
        await using var h = await ConsumerHarness.StartAsync(
            (services, bus) => services.AddDetector(bus, new DetectorServiceOptions(), new DetectorOptions { ExecutionProvider = "cpu", ConcurrentRuns = 1 }, new ImageEmbeddingCache(0)),
            prompt: "red (red, 0.5)\nblue (blue, 0.5)",
            services: s => s.AddSingleton(new ModelCatalog(new Dictionary<string, string>(), allowDirectories: true)));
        await h.RegisterAllImagesAsync();
        var wide = File.ReadAllBytes(Path.Combine(h.Workspace.Dataset, "wide-640x360.jpg"));

        await h.ConsumeAsync(new ImageFetched(h.JobId, "wide-640x360.jpg", await h.ImageAsync(wide)));
        await h.ConsumeAsync(new ImageFetched(h.JobId, "labeled-600x400.jpg", await h.ImageAsync([0xFF, 0xD8, 1, 2, 3])));

        var truth = Workspace.GroundTruth()["wide-640x360.jpg"];
        var detected = Assert.Single(await h.PublishedAsync<SampleDetected>());
        Assert.Equal(truth.Select(t => t.Label).Order(), detected.Objects.Select(o => o.Label).Order());
        foreach (var t in truth)
        {
            var o = Assert.Single(detected.Objects, o => o.Label == t.Label);
            Assert.True(new Owlbox.Labeling.Boxes.PixelBox(o.X, o.Y, o.Width, o.Height).IoU(t.Box) >= 0.9, $"{t.Label}: {o}");
        }
        Assert.Equal("labeled-600x400.jpg", Assert.Single(await h.PublishedAsync<SampleFailed>()).SampleId);
    }
}
