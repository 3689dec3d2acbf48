namespace Owlbox.Contracts.V1;

/// <summary>Detection finished for a sample: the boxes that passed every filter (possibly none).</summary>
/// <param name="ModelId">The model's hub id (or directory name), written to the sample's metadata.</param>
/// <param name="ModelType">"owlvit" or "owlv2": the original Edge Impulse block's <c>labeled_by</c> value.</param>
/// <param name="Removed">Detections the verifier removed, with its verdicts (for their provenance; never written as boxes).</param>
/// <param name="Verification">The verifier's calls and tokens for this sample; null where it was not verified.</param>
/// <param name="Rejected">Candidates dropped by the thresholds, size limits or NMS (for progress output).</param>
public sealed record SampleDetected(
    Guid JobId,
    string SampleId,
    string ModelId,
    string ModelType,
    int ImageWidth,
    int ImageHeight,
    IReadOnlyList<DetectedObject> Objects,
    int Rejected,
    double Milliseconds,
    IReadOnlyList<DetectedObject>? Removed = null,
    VerificationUsage? Verification = null) : IJobMessage;
