using System.Text.Json.Serialization;

namespace Owlbox.Contracts.V1;

/// <summary>A job's state: expanding (samples not listed yet), running, then one final state. On the wire, in the
/// store and in the API as the kebab-case names below.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<JobStatus>))]
public enum JobStatus
{
    [JsonStringEnumMemberName("expanding")] Expanding,
    [JsonStringEnumMemberName("running")] Running,
    [JsonStringEnumMemberName("completed")] Completed,
    [JsonStringEnumMemberName("completed-with-failures")] CompletedWithFailures,
    [JsonStringEnumMemberName("cancelled")] Cancelled,

    /// <summary>Replaced by a fresh run of the same job (<c>owlbox label --fresh</c>); never resumed.</summary>
    [JsonStringEnumMemberName("superseded")] Superseded,
}

/// <summary>The stage that failed a sample; lower-case names on the wire and in metrics.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Stage>))]
public enum Stage
{
    [JsonStringEnumMemberName("expand")] Expand,
    [JsonStringEnumMemberName("fetch")] Fetch,
    [JsonStringEnumMemberName("detect")] Detect,
    [JsonStringEnumMemberName("verify")] Verify,
    [JsonStringEnumMemberName("write")] Write,
}

public static class JobStatusNames
{
    private static readonly Dictionary<JobStatus, string> s_names = new()
    {
        [JobStatus.Expanding] = "expanding",
        [JobStatus.Running] = "running",
        [JobStatus.Completed] = "completed",
        [JobStatus.CompletedWithFailures] = "completed-with-failures",
        [JobStatus.Cancelled] = "cancelled",
        [JobStatus.Superseded] = "superseded",
    };

    /// <summary>The stored and displayed name ("completed-with-failures").</summary>
    public static string ToName(this JobStatus status) => s_names[status];

    public static string ToName(this Stage stage) => stage.ToString().ToLowerInvariant();

    public static JobStatus ParseJobStatus(string name) =>
        s_names.FirstOrDefault(kv => kv.Value == name) is { Value: not null } kv ? kv.Key : throw new FormatException($"unknown job status '{name}'");

    public static bool IsFinal(this JobStatus status) => status is JobStatus.Completed or JobStatus.CompletedWithFailures or JobStatus.Cancelled or JobStatus.Superseded;

    /// <summary>Interrupted (the process stopped, or the job was cancelled): re-running the same job resumes it.</summary>
    public static bool IsResumable(this JobStatus status) => status is JobStatus.Expanding or JobStatus.Running or JobStatus.Cancelled;
}
