using Owlbox.Contracts.V1;

namespace Owlbox.Jobs;

/// <summary>
/// Durable job state. Every transition is idempotent and conditional, so at-least-once delivery and concurrent
/// replicas cannot double-count: a sample moves pending → written/failed once (a late success may still turn
/// failed into written), and exactly one caller sees <see cref="TryCompleteAsync"/> finish a job.
/// </summary>
public interface IJobStore
{
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>Records a new job; false when the id exists (a resubmission, which resumes it).</summary>
    Task<bool> TryCreateAsync(Guid jobId, JobSpec spec, CancellationToken cancellationToken);

    Task<JobRecord?> FindAsync(Guid jobId, CancellationToken cancellationToken);

    /// <summary>Records the credential a job brought (sealed; opaque here), replacing an earlier one. Deleted when
    /// the job completes, fails, is cancelled or superseded.</summary>
    Task SetCredentialAsync(Guid jobId, string sealedCredential, CancellationToken cancellationToken);

    Task<string?> GetCredentialAsync(Guid jobId, CancellationToken cancellationToken);

    /// <summary>The job's status alone, null for an unknown job: one key lookup, because the services ask it per
    /// sample (<see cref="FindAsync"/> counts the job's samples, which per sample made a job quadratic).</summary>
    Task<JobStatus?> GetStatusAsync(Guid jobId, CancellationToken cancellationToken);

    /// <summary>Adds samples not yet known, records missing ids as
    /// failed, turns failed samples back to pending so a resubmission retries them, sets the total and marks the
    /// job running. Returns how many samples are still pending: the ones to fetch (<see cref="PendingSamplesAsync"/>).</summary>
    Task<int> RegisterSamplesAsync(Guid jobId, IReadOnlyList<SampleRegistration> found,
        IReadOnlyList<(string SampleId, string Problem)> missing, CancellationToken cancellationToken);

    /// <summary>Pending samples in listing order after <paramref name="after"/> (null: from the start), at most
    /// <paramref name="limit"/>: the expansion reads a page at a time, so a 100k-sample job never holds every id.</summary>
    Task<IReadOnlyList<PendingSample>> PendingSamplesAsync(Guid jobId, PendingSample? after, int limit, CancellationToken cancellationToken);

    /// <summary>The state of each named sample the job has (samples it does not have are left out).</summary>
    Task<IReadOnlyDictionary<string, string>> GetSampleStatesAsync(Guid jobId, IReadOnlyCollection<string> sampleIds, CancellationToken cancellationToken);

    /// <summary>Unfinished jobs, and how many of them are stalled: pending samples, none of which moved since
    /// <paramref name="stalledBefore"/> (as <see cref="JobRecord.IsStalled"/>). One query, for the ops gauge.</summary>
    Task<(int Unfinished, int Stalled)> CountUnfinishedJobsAsync(DateTimeOffset stalledBefore, CancellationToken cancellationToken);

    /// <summary>Jobs recorded with exactly this spec, newest first: how a re-run finds the job it resumes.</summary>
    Task<IReadOnlyList<JobRecord>> FindBySpecAsync(JobSpec spec, CancellationToken cancellationToken);

    /// <summary>Opens a finished or cancelled job again for a resubmission (its failed samples are retried, its
    /// written ones skipped); false for a superseded or unknown job.</summary>
    Task<bool> ReopenAsync(Guid jobId, CancellationToken cancellationToken);

    /// <summary>Ends a job for good because a fresh run replaces it: its late messages are dropped.</summary>
    Task<bool> SupersedeAsync(Guid jobId, CancellationToken cancellationToken);

    Task<bool> MarkWrittenAsync(Guid jobId, string sampleId, int boxesAdded, double milliseconds, CancellationToken cancellationToken);

    Task<bool> MarkFailedAsync(Guid jobId, string sampleId, string reason, CancellationToken cancellationToken);

    Task<IReadOnlyList<SampleRecord>> ListSamplesAsync(Guid jobId, CancellationToken cancellationToken);

    /// <summary>Finishes the job when nothing is pending; returns it to the one caller that did.</summary>
    Task<JobRecord?> TryCompleteAsync(Guid jobId, CancellationToken cancellationToken);

    /// <summary>Ends a job that could not be expanded (its dataset could not be listed), keeping the reason.</summary>
    Task<bool> FailAsync(Guid jobId, string reason, CancellationToken cancellationToken);

    /// <summary>Marks a job cancelled unless it is already final; in-flight samples are then dropped by the services.</summary>
    Task<bool> CancelAsync(Guid jobId, CancellationToken cancellationToken);
}
