namespace Owlbox.Detection.Inference;

/// <summary>Raw model outputs for a batch: logits [Images, Patches, Queries], boxes [Images, Patches, 4] as normalised
/// (cx, cy, w, h) of the model input.</summary>
public sealed record DetectorOutput(int Images, int Patches, int Queries, float[] Logits, float[] Boxes);
