namespace Owlbox.Contracts.V1;

/// <summary>A validated job was recorded; the fetcher expands it into samples.</summary>
public sealed record LabelingJobSubmitted(Guid JobId, JobSpec Spec) : IJobMessage;
