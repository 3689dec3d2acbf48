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
    private readonly Workspace _ws = new();
    private ServiceProvider _services = null!;
    private ITestHarness _harness = null!;
    private SqliteJobStore _store = null!;
    private readonly Guid _job = Guid.NewGuid();

    public async Task InitializeAsync()
    {
        _store = new SqliteJobStore(Path.Combine(_ws.Root, "jobs.db"));
        _services = new ServiceCollection()
            .AddSingleton<IJobStore>(_store)
            .AddSingleton<JobSpecCache>()
            .AddSingleton<IDatasetBackendFactory>(new EdgeImpulse.EdgeImpulseBackendFactory(LocalDatasetAccess.AnyFolder, new EdgeImpulse.EdgeImpulseAccessOptions(), () => null))
            .AddSingleton(new WriterFaultInjection())
            .AddMassTransitTestHarness(x => x.AddConsumer<WriteSamplesConsumer>(c => c.Options<BatchOptions>(b => b
                .SetMessageLimit(16).SetTimeLimit(TimeSpan.FromMilliseconds(20)))))
            .BuildServiceProvider(true);
        _harness = _services.GetRequiredService<ITestHarness>();
        await _harness.Start();
        await _store.InitializeAsync(default);
        var spec = new JobSpec(new DatasetReference("local", _ws.Dataset), "m", "model", "red\nblue", new JobOptions(0.1, true, 0.2, false, 0, 0, "no"), null, null);
        await _store.TryCreateAsync(_job, spec, default);
        await _store.RegisterSamplesAsync(_job, _ws.Images.Select(i => new SampleRegistration(i)).ToArray(), [], default);
    }

    public async Task DisposeAsync()
    {
        await _harness.Stop();
        await _services.DisposeAsync();
        _ws.Dispose();
    }

    private SampleDetected Result(string sample, params (string Label, int X)[] boxes) =>
        new(_job, sample, "owlbox/test", "owlv2", 640, 360, boxes.Select(b => new DetectedObject(b.Label, b.X, 10, 20, 20, 0.9, 1, b.Label, 0.5)).ToArray(), 0, 5);

    /// <summary>Publishes and waits until the writer has taken the message (written or dropped it).</summary>
    private async Task WriteAsync(SampleDetected message)
    {
        var before = await _harness.Consumed.SelectAsync<SampleDetected>().Count();
        await _harness.Bus.Publish(message);
        for (var i = 0; i < 200 && await _harness.Consumed.SelectAsync<SampleDetected>().Count() == before; i++)
        {
            await Task.Delay(25);
        }
        await _harness.InactivityTask;
    }

    [Fact]
    public async Task Redelivered_TheSampleIsWrittenOnce()
    {
        var result = Result("wide-640x360.jpg", ("red", 1), ("blue", 100));

        await WriteAsync(result);
        var once = File.ReadAllText(_ws.LabelsPath);
        await WriteAsync(result);

        Assert.Equal(2, _ws.Boxes("wide-640x360.jpg").Count);
        Assert.Equal(once, File.ReadAllText(_ws.LabelsPath));
        Assert.Equal(SampleState.Written, (await _store.GetSampleStatesAsync(_job, ["wide-640x360.jpg"], default))["wide-640x360.jpg"]);
    }

    [Fact]
    public async Task CrashedBetweenTheWriteAndTheStoreUpdate_TheRedeliveryAddsNothing()
    {
        var result = Result("wide-640x360.jpg", ("red", 1), ("blue", 100));
        // What the writer had written when it died: the boxes are in the file, the store still says pending.
        LabelsFile.Update(_ws.LabelsPath, [new("wide-640x360.jpg", c => c with { Boxes = [.. c.Boxes, new LabeledBox("red", 1, 10, 20, 20), new LabeledBox("blue", 100, 10, 20, 20)] })]);

        await WriteAsync(result);

        Assert.Equal(["blue", "red"], _ws.Boxes("wide-640x360.jpg").Select(b => b.Label).Order());
        Assert.Equal(SampleState.Written, (await _store.GetSampleStatesAsync(_job, ["wide-640x360.jpg"], default))["wide-640x360.jpg"]);
    }

    [Fact]
    public async Task LateMessagesOfAFinishedJob_ChangeNothing()
    {
        foreach (var image in _ws.Images)
        {
            await WriteAsync(Result(image, ("red", 1)));
        }
        Assert.Equal(JobStatus.Completed, await _store.GetStatusAsync(_job, default));
        var finished = File.ReadAllText(_ws.LabelsPath);
        // Someone relabels a sample after the job; then a duplicate of the old job's message arrives, with other boxes.
        LabelsFile.Update(_ws.LabelsPath, [new("busy-800x450.jpg", c => c with { Boxes = [] })]);
        var relabelled = File.ReadAllText(_ws.LabelsPath);

        await WriteAsync(Result("busy-800x450.jpg", ("blue", 300)));
        await WriteAsync(Result("tall-360x640.png", ("blue", 300)));

        Assert.NotEqual(finished, relabelled);
        Assert.Equal(relabelled, File.ReadAllText(_ws.LabelsPath));
    }
}
