using System.Diagnostics;
using System.Diagnostics.Metrics;
using Owlbox.Cli;
using Owlbox.Jobs;

namespace Owlbox.Cli.Tests;

[CollectionDefinition("metrics", DisableParallelization = true)]
public sealed class MetricsCollection;

/// <summary>The instruments ops dashboards chart count what really happened (run alone: instruments are process-wide).</summary>
[Collection("metrics")]
public sealed class TelemetryTests : IDisposable
{
    private readonly Workspace _ws = new();

    public void Dispose() => _ws.Dispose();

    [Fact]
    public async Task Label_RecordsWrittenAndFailedSamples_BoxesAndDetectTimes()
    {
        File.WriteAllBytes(Path.Combine(_ws.Dataset, "broken.png"), [1, 2, 3]);
        var measured = new Dictionary<string, double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == OwlboxTelemetry.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record(Instrument instrument, double value)
        {
            lock (measured)
            {
                measured[instrument.Name] = measured.GetValueOrDefault(instrument.Name) + (instrument.Name == "owlbox.detect.duration" ? 1 : value);
            }
        }
        listener.SetMeasurementEventCallback<long>((i, v, _, _) => Record(i, v));
        listener.SetMeasurementEventCallback<double>((i, v, _, _) => Record(i, v));
        listener.Start();

        var (exit, _, _) = await _ws.LabelAsync();

        Assert.Equal(OwlboxCli.SamplesFailed, exit);
        Assert.Equal(6, measured.GetValueOrDefault("owlbox.samples.written"));
        Assert.Equal(1, measured.GetValueOrDefault("owlbox.samples.failed"));
        Assert.Equal(11, measured.GetValueOrDefault("owlbox.boxes.written"));
        Assert.Equal(6, measured.GetValueOrDefault("owlbox.detect.duration"));
    }

    [Fact]
    public async Task Label_EveryStagesConsumeSpan_CarriesTheJobId()
    {
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "MassTransit",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                lock (spans)
                {
                    spans.Add(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        var (exit, _, _) = await _ws.LabelAsync();

        Assert.Equal(OwlboxCli.Ok, exit);
        var consumed = spans.Where(s => s.Kind == ActivityKind.Consumer).ToArray();
        var tagged = consumed.Where(s => s.GetTagItem(Owlbox.Hosting.JobIdTagFilter<object>.Tag) is string).ToArray();
        var stages = tagged.Select(s => s.DisplayName).Distinct().ToArray();
        foreach (var stage in new[] { "expand-job", "fetch-sample", "detect-images", "write-samples" })
        {
            Assert.Contains(stages, s => s.StartsWith(stage, StringComparison.Ordinal));
        }
        var job = Assert.Single(tagged.Select(s => (string)s.GetTagItem(Owlbox.Hosting.JobIdTagFilter<object>.Tag)!).Distinct());
        Assert.True(Guid.TryParse(job, out _), job);
    }
}
