namespace Owlbox.Detection.Inference;

/// <summary>How the ONNX Runtime session runs.</summary>
public sealed record DetectorOptions
{
    /// <summary>"cpu", "cuda" or "auto" (CUDA when its libraries load, else CPU). Default "auto".</summary>
    public string ExecutionProvider { get; init; } = "auto";

    /// <summary>CUDA device index when the CUDA provider is used.</summary>
    public int DeviceId { get; init; }

    /// <summary>Threads for one inference; 0 lets ONNX Runtime use every physical core.</summary>
    public int IntraOpThreads { get; init; }
}
