using System.Diagnostics;
using System.Diagnostics.Metrics;

using Owlbox.Jobs;

namespace Owlbox.ServiceDefaults;

/// <summary>
/// Owlbox's own instruments (BCL types; the host exports them with OpenTelemetry next to MassTransit's): what ops
/// dashboards chart per service: samples written and failed by stage, boxes written, time per image in the
/// detector and inside the ONNX Runtime session.
/// </summary>
public static class OwlboxTelemetry
{
    public const string Name = "Owlbox";

    public static readonly ActivitySource ActivitySource = new(Name);

    private static readonly Meter s_meter = new(Name);

    public static readonly Counter<long> SamplesWritten = s_meter.CreateCounter<long>("owlbox.samples.written", "{sample}", "Samples whose boxes or proposals were written");

    public static readonly Counter<long> SamplesFailed = s_meter.CreateCounter<long>("owlbox.samples.failed", "{sample}", "Samples that could not be labeled, tagged by stage");

    public static readonly Counter<long> BoxesWritten = s_meter.CreateCounter<long>("owlbox.boxes.written", "{box}", "New boxes written or proposed");

    public static readonly Histogram<double> DetectDuration = s_meter.CreateHistogram<double>("owlbox.detect.duration", "ms", "Decode, preprocess and inference time per image");

    public static readonly Histogram<long> BatchSize = s_meter.CreateHistogram<long>("owlbox.batch.size", "{message}", "Messages per consumed batch, tagged by stage (detect, write): how full batches run",
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });

    public static readonly Counter<long> EmbeddingCacheHits = s_meter.CreateCounter<long>("owlbox.embedding_cache.hits", "{image}", "Images re-prompted from cached encodings");

    public static readonly Counter<long> LlmCalls = s_meter.CreateCounter<long>("owlbox.llm.calls", "{call}", "Vision model calls made by the verifier");

    public static readonly Counter<long> LlmCacheHits = s_meter.CreateCounter<long>("owlbox.llm.cache_hits", "{box}", "Boxes the verifier answered from its answer cache");

    /// <summary>The <c>owlbox.jobs</c> gauge (unfinished jobs, tagged <c>state</c> running or stalled), observed from the
    /// job store at each export by the process that hosts the gateway; disposing it removes the gauge.</summary>
    public static IDisposable ObserveJobs(IJobStore store, TimeSpan stalledAfter)
    {
        var meter = new Meter(Name);
        meter.CreateObservableGauge<long>("owlbox.jobs", IEnumerable<Measurement<long>> () =>
        {
            try
            {
                var (unfinished, stalled) = store.CountUnfinishedJobsAsync(DateTimeOffset.UtcNow - stalledAfter, CancellationToken.None).GetAwaiter().GetResult();
                return [new Measurement<long>(unfinished - stalled, new KeyValuePair<string, object?>("state", "running")),
                        new Measurement<long>(stalled, new KeyValuePair<string, object?>("state", "stalled"))];
            }
            catch (Exception e) when (InfrastructureFaults.IsInfrastructure(e))
            {
                return []; // no reading while the store is down (the readiness probe says so)
            }
        }, "{job}", "Unfinished jobs, by state: running, or stalled (pending samples that stopped moving)");
        return meter;
    }
}
