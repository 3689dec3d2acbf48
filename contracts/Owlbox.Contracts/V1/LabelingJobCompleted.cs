namespace Owlbox.Contracts.V1;

/// <summary>Every sample of a job is written or failed, or the job was cancelled.
/// <paramref name="Status"/>: a final one.</summary>
public sealed record LabelingJobCompleted(Guid JobId, JobStatus Status, int Total, int Written, int Failed) : IJobMessage;
