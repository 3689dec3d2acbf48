namespace Owlbox.Contracts.V1;

/// <summary>A command to the gateway (queue <c>submit-labeling-job</c>): check, record and start this job, as
/// <c>POST /v1/jobs</c> does. The Edge Impulse block sends it when a broker is configured. Answered by
/// <see cref="LabelingJobAccepted"/> or <see cref="LabelingJobRejected"/>, then the job's events.</summary>
/// <param name="SealedProjectKey">The sender's project key sealed for the deployment and this job (AES-GCM; opens only
/// there, only for this job, only until it expires), for a fleet serving many projects; never the key itself.</param>
public sealed record SubmitLabelingJob(Guid JobId, JobSpec Spec, string? SealedProjectKey = null) : IJobMessage;

/// <summary>The gateway recorded the job and started it (or resumed it: same id, same spec).</summary>
/// <param name="Samples">Samples the job names, as counted at submission; null where the gateway may not list the dataset.</param>
/// <param name="ModelId">The model's hub id, as the samples' metadata will say.</param>
/// <param name="ModelType">"owlvit" or "owlv2".</param>
public sealed record LabelingJobAccepted(Guid JobId, bool Resumed, int? Samples, string ModelId, string ModelType) : IJobMessage;

/// <summary>The job cannot run; nothing was recorded. Every problem is listed (prompt lines by number, options,
/// model, dataset).</summary>
public sealed record LabelingJobRejected(Guid JobId, IReadOnlyList<string> Errors) : IJobMessage;
