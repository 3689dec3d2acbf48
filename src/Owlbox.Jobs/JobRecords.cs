using Owlbox.Contracts.V1;

namespace Owlbox.Jobs;

/// <summary>Sample states: pending until written or failed.</summary>
public static class SampleState
{
    public const string Pending = "pending";
    public const string Written = "written";
    public const string Failed = "failed";
}

public sealed record JobRecord(
    Guid JobId, JobSpec Spec, JobStatus Status, int? Total, int Written, int Failed, int BoxesAdded,
    DateTimeOffset CreatedUtc, DateTimeOffset? FinishedUtc, string? Error, DateTimeOffset? LastSampleUpdateUtc = null)
{
    public int Pending => (Total ?? 0) - Written - Failed;

    /// <summary>Unfinished, with samples pending, and no sample has moved for <paramref name="after"/>: its messages
    /// are stuck (an error queue after an outage longer than the retries, a stage with no consumer).</summary>
    public bool IsStalled(DateTimeOffset now, TimeSpan after) =>
        !Status.IsFinal() && Pending > 0 && now - (LastSampleUpdateUtc ?? CreatedUtc) > after;
}

public sealed record SampleRecord(string SampleId, int Index, string State, string? Reason, int BoxesAdded, double? Milliseconds);

/// <summary>A sample found when the job was expanded.</summary>
public sealed record SampleRegistration(string SampleId);

/// <summary>A sample still to fetch, with its place in the listing (the paging cursor).</summary>
public sealed record PendingSample(string SampleId, int Index);
