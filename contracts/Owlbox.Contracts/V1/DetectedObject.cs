using System.Text.Json.Serialization;

namespace Owlbox.Contracts.V1;

/// <summary>A kept detection in integer image pixels, with the provenance a reviewer needs (and the
/// verifier's verdict, when it asked about it).</summary>
public sealed record DetectedObject(
    string Label,
    int X,
    int Y,
    int Width,
    int Height,
    double Score,
    int PromptLine,
    string SearchText,
    double MinConfidence,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DetectionVerdict? Verification = null);
