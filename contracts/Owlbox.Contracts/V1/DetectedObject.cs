namespace Owlbox.Contracts.V1;

/// <summary>A kept detection in integer image pixels, with the provenance a reviewer needs.</summary>
public sealed record DetectedObject(
    string Label,
    int X,
    int Y,
    int Width,
    int Height,
    double Score,
    int PromptLine,
    string SearchText,
    double MinConfidence);
