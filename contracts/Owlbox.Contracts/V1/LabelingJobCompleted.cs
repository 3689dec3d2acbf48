namespace Owlbox.Contracts.V1;

/// <summary>Every sample of a job is written or failed, or the job was cancelled.
/// <paramref name="Status"/>: completed, completed-with-failures or cancelled.</summary>
public sealed record LabelingJobCompleted(Guid JobId, string Status, int Total, int Written, int Failed) : IJobMessage;
