using Owlbox.Contracts.V1;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Cli;

/// <summary>What a job is about to do, once it has been accepted.</summary>
public sealed record JobPlan(string ModelId, string ModelType, IReadOnlyList<PromptLine> Lines, int SampleCount, string Destination, ResumedJob? Resumed = null)
{
    /// <summary>Which form of the model runs, said at the start (in process only: a fleet's detectors may differ).</summary>
    public string? Form { get; init; }
}

/// <summary>An interrupted job this run resumes, with what it had written before.</summary>
public sealed record ResumedJob(Guid JobId, int Written, int Total);

/// <summary>One sample's result, in completion order.</summary>
public sealed record SampleOutcome(int Index, int Total, string SampleId, TimeSpan Elapsed, IReadOnlyList<DetectedObject> Objects, int Rejected, string? Error)
{
    public bool Succeeded => Error is null;
}

public sealed record JobSummary(Owlbox.Contracts.V1.JobStatus Status, int Total, int Succeeded, IReadOnlyList<(string SampleId, string Reason)> Failed, int BoxesAdded, TimeSpan Elapsed, string Destination);

/// <summary>Receives progress; <see cref="ConsoleReporter"/> prints it in the original Edge Impulse block's style.</summary>
public interface IJobReporter
{
    void Started(JobPlan plan);
    void SampleDone(SampleOutcome outcome);
    void Finished(JobSummary summary);
}
