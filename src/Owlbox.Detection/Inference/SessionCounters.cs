using System.Diagnostics;

namespace Owlbox.Detection.Inference;

/// <summary>What a detector's sessions have done so far, for the benchmarks and telemetry: time inside ONNX Runtime
/// (summed over concurrent runs) and runs of the split form's image encoder. Thread-safe.</summary>
internal sealed class SessionCounters
{
    private long _sessionTicks;
    private long _imageEncoderRuns;

    public TimeSpan SessionTime => TimeSpan.FromTicks(Interlocked.Read(ref _sessionTicks));

    public long ImageEncoderRuns => Interlocked.Read(ref _imageEncoderRuns);

    /// <param name="started">A <see cref="Stopwatch.GetTimestamp"/> taken just before the run.</param>
    public void AddRun(long started) => Interlocked.Add(ref _sessionTicks, Stopwatch.GetElapsedTime(started).Ticks);

    /// <param name="started">A <see cref="Stopwatch.GetTimestamp"/> taken just before the run.</param>
    public void AddImageEncoderRun(long started)
    {
        AddRun(started);
        Interlocked.Increment(ref _imageEncoderRuns);
    }
}
