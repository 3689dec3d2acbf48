using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Jobs;
using Owlbox.Labeling.Boxes;
using Owlbox.Writer;
using Owlbox.Writer.Consumers;

namespace Owlbox.Cli.Tests;

/// <summary>The writer alone, on MassTransit's test harness with a real job store and a real dataset folder: what a
/// redelivery, a crash between the write and the store update, or a late message of a finished job does.</summary>
public sealed class WriterConsumerTests : IAsyncLifetime
{
    private ConsumerHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await ConsumerHarness.StartAsync((services, bus) => services.AddWriter(bus, new WriterOptions { BatchMessageLimit = 16, BatchTimeLimit = TimeSpan.FromMilliseconds(20) }, new WriterFaultInjection()));
        await _h.RegisterAllImagesAsync();
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private SampleDetected Result(string sample, params (string Label, int X)[] boxes) =>
        new(_h.JobId, sample, "owlbox/test", "owlv2", 640, 360, boxes.Select(b => new DetectedObject(b.Label, b.X, 10, 20, 20, 0.9, 1, b.Label, 0.5)).ToArray(), 0, 5);

    private Task WriteAsync(SampleDetected message) => _h.ConsumeAsync(message);

    [Fact]
    public async Task Redelivered_TheSampleIsWrittenOnce()
    {
        var result = Result("wide-640x360.jpg", ("red", 1), ("blue", 100));

        await WriteAsync(result);
        await new LocalDatasetBackend(_h.Workspace.Dataset).FlushAsync(default); // the job's batches, folded as at its end
        var once = File.ReadAllText(_h.Workspace.LabelsPath);
        await WriteAsync(result);
        await new LocalDatasetBackend(_h.Workspace.Dataset).FlushAsync(default);

        Assert.Equal(2, _h.Workspace.Boxes("wide-640x360.jpg").Count);
        Assert.Equal(once, File.ReadAllText(_h.Workspace.LabelsPath));
        Assert.Equal(SampleState.Written, (await _h.Store.GetSampleStatesAsync(_h.JobId, ["wide-640x360.jpg"], default))["wide-640x360.jpg"]);
    }

    [Fact]
    public async Task CrashedBetweenTheWriteAndTheStoreUpdate_TheRedeliveryAddsNothing()
    {
        var result = Result("wide-640x360.jpg", ("red", 1), ("blue", 100));
        // What the writer had written when it died: the boxes are in the file, the store still says pending.
        LabelsFile.Update(_h.Workspace.LabelsPath, [new("wide-640x360.jpg", c => c with { Boxes = [.. c.Boxes, new LabeledBox("red", 1, 10, 20, 20), new LabeledBox("blue", 100, 10, 20, 20)] })]);

        await WriteAsync(result);

        Assert.Equal(["blue", "red"], _h.Workspace.Boxes("wide-640x360.jpg").Select(b => b.Label).Order());
        Assert.Equal(SampleState.Written, (await _h.Store.GetSampleStatesAsync(_h.JobId, ["wide-640x360.jpg"], default))["wide-640x360.jpg"]);
    }

    [Fact]
    public async Task LateMessagesOfAFinishedJob_ChangeNothing()
    {
        foreach (var image in _h.Workspace.Images)
        {
            await WriteAsync(Result(image, ("red", 1)));
        }
        Assert.Equal(JobStatus.Completed, await _h.Store.GetStatusAsync(_h.JobId, default));
        var finished = File.ReadAllText(_h.Workspace.LabelsPath);
        // Someone relabels a sample after the job; then a duplicate of the old job's message arrives, with other boxes.
        LabelsFile.Update(_h.Workspace.LabelsPath, [new("busy-800x450.jpg", c => c with { Boxes = [] })]);
        var relabelled = File.ReadAllText(_h.Workspace.LabelsPath);

        await WriteAsync(Result("busy-800x450.jpg", ("blue", 300)));
        await WriteAsync(Result("tall-360x640.png", ("blue", 300)));

        Assert.NotEqual(finished, relabelled);
        Assert.Equal(relabelled, File.ReadAllText(_h.Workspace.LabelsPath));
    }
}

/// <summary>The writer's failure side alone: the one place failures are recorded, and faults of exhausted retries.</summary>
public sealed class WriterFailureConsumerTests : IAsyncLifetime
{
    private ConsumerHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await ConsumerHarness.StartAsync((services, bus) => services.AddWriter(bus, new WriterOptions(), new WriterFaultInjection()));
        await _h.RegisterAllImagesAsync();
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private static MassTransit.Events.FaultEvent<FetchSample> FaultOf(FetchSample message, Exception e) =>
        new MassTransit.Events.FaultEvent<FetchSample>(message, null, new MassTransit.Metadata.BusHostInfo(), e, ["urn:message:Owlbox.Contracts.V1:FetchSample"]);

    [Fact]
    public async Task ASampleFault_FailsTheSampleWithItsReason_AnInfrastructureFaultDoesNot()
    {
        await _h.ConsumeAsync<Fault<FetchSample>>(FaultOf(new FetchSample(_h.JobId, "wide-640x360.jpg"), new InvalidDataException("the disk returned garbage")));
        await _h.ConsumeAsync<Fault<FetchSample>>(FaultOf(new FetchSample(_h.JobId, "busy-800x450.jpg"), new Npgsql.NpgsqlException("connection refused")));

        var states = await _h.Store.GetSampleStatesAsync(_h.JobId, ["wide-640x360.jpg", "busy-800x450.jpg"], default);
        Assert.Equal((SampleState.Failed, SampleState.Pending), (states["wide-640x360.jpg"], states["busy-800x450.jpg"]));
        var failed = Assert.Single(await _h.PublishedAsync<SampleFailed>());
        Assert.Equal(("wide-640x360.jpg", Stage.Fetch), (failed.SampleId, failed.Stage));
        Assert.Contains("the disk returned garbage (after retries)", failed.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheLastSampleRecorded_FinishesTheJobOnce()
    {
        var images = _h.Workspace.Images;
        foreach (var image in images.Skip(1))
        {
            await _h.ConsumeAsync(new SampleFailed(_h.JobId, image, Stage.Detect, "not a supported image"));
        }
        Assert.Empty(await _h.PublishedAsync<LabelingJobCompleted>());

        await _h.ConsumeAsync(new SampleFailed(_h.JobId, images[0], Stage.Detect, "not a supported image"));
        await _h.ConsumeAsync(new SampleFailed(_h.JobId, images[0], Stage.Detect, "not a supported image")); // redelivered

        var completed = Assert.Single(await _h.PublishedAsync<LabelingJobCompleted>());
        Assert.Equal((JobStatus.CompletedWithFailures, images.Count, 0, images.Count), (completed.Status, completed.Total, completed.Written, completed.Failed));
    }
}
