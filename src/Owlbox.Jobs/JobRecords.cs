using Owlbox.Contracts.V1;

namespace Owlbox.Jobs;

/// <summary>Job states as stored: expanding (samples not listed yet), running, then one final state.</summary>
public static class JobStatus
{
    public const string Expanding = "expanding";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string CompletedWithFailures = "completed-with-failures";
    public const string Cancelled = "cancelled";

    /// <summary>Replaced by a fresh run of the same job (<c>owlbox label --fresh</c>); never resumed.</summary>
    public const string Superseded = "superseded";

    public static bool IsFinal(string status) => status is Completed or CompletedWithFailures or Cancelled or Superseded;

    /// <summary>Interrupted (the process stopped, or the job was cancelled): re-running the same job resumes it.</summary>
    public static bool IsResumable(string status) => status is Expanding or Running or Cancelled;
}

/// <summary>Sample states: pending until written or failed.</summary>
public static class SampleState
{
    public const string Pending = "pending";
    public const string Written = "written";
    public const string Failed = "failed";
}

public sealed record JobRecord(
    Guid JobId, JobSpec Spec, string Status, int? Total, int Written, int Failed, int BoxesAdded,
    DateTimeOffset CreatedUtc, DateTimeOffset? FinishedUtc, string? Error, DateTimeOffset? LastSampleUpdateUtc = null)
{
    public int Pending => (Total ?? 0) - Written - Failed;

    /// <summary>Unfinished, with samples pending, and no sample has moved for <paramref name="after"/>: its messages
    /// are stuck (an error queue after an outage longer than the retries, a stage with no consumer).</summary>
    public bool IsStalled(DateTimeOffset now, TimeSpan after) =>
        !JobStatus.IsFinal(Status) && Pending > 0 && now - (LastSampleUpdateUtc ?? CreatedUtc) > after;
}

public sealed record SampleRecord(string SampleId, int Index, string State, string? Reason, int BoxesAdded, double? Milliseconds);

/// <summary>A sample found when the job was expanded.</summary>
public sealed record SampleRegistration(string SampleId);

/// <summary>A sample still to fetch, with its place in the listing (the paging cursor).</summary>
public sealed record PendingSample(string SampleId, int Index);
