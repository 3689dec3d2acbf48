namespace Owlbox.Contracts.V1;

/// <summary>A sample's result is stored in the dataset (apply) or its proposal set (preview).</summary>
public sealed record SampleWritten(Guid JobId, string SampleId, IReadOnlyList<DetectedObject> Objects, int Rejected, double Milliseconds,
    VerificationUsage? Verification = null) : IJobMessage;
