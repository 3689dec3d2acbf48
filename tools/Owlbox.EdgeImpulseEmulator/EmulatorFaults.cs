namespace Owlbox.EdgeImpulseEmulator;

/// <summary>Faults to inject, settable at start or at run time (<c>POST /_emulator/faults</c>).</summary>
public sealed class EmulatorFaults
{
    /// <summary>Added to every API call.</summary>
    public int LatencyMs { get; set; }

    /// <summary>Every Nth API call answers 503 (0: never).</summary>
    public int FailEveryNth { get; set; }

    /// <summary>Every Nth API call hangs this long before answering (0: never), to trip client timeouts.</summary>
    public int HangEveryNth { get; set; }

    public int HangMs { get; set; } = 5000;

    /// <summary>These samples' images come back truncated to half their bytes, every time.</summary>
    public List<long> CorruptImageSampleIds { get; set; } = [];

    /// <summary>These samples are listed and their images served, but every write to them is refused as Studio refuses
    /// a sample deleted while a job ran ("Sample N not found").</summary>
    public List<long> DeletedAtWriteSampleIds { get; set; } = [];
}
