using Owlbox.Contracts.V1;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Cli;

/// <summary>What the console says a job is about to do, once it has been accepted (the job's own plan is
/// <see cref="Pipeline.JobPlan"/>).</summary>
public sealed record RunHeader(string ModelId, string ModelType, IReadOnlyList<PromptLine> Lines, int SampleCount, string Destination, ResumedJob? Resumed = null)
{
    /// <summary>Which form of the model runs, said at the start (in process only: a fleet's detectors may differ).</summary>
    public string? Form { get; init; }
}

/// <summary>An interrupted job this run resumes, with what it had written before.</summary>
/// <param name="Total">The samples it listed; null when it was stopped before listing them.</param>
public sealed record ResumedJob(Guid JobId, int Written, int? Total)
{
    /// <summary>Boxes the earlier runs added: this run reports only its own.</summary>
    public int BoxesAdded { get; init; }
}

/// <summary>One sample's result, in completion order.</summary>
public sealed record SampleOutcome(int Index, int Total, string SampleId, TimeSpan Elapsed, IReadOnlyList<DetectedObject> Objects, int Rejected, string? Error)
{
    public bool Succeeded => Error is null;
}

/// <param name="Succeeded">Samples the job has written, an earlier run's of a resumed job included.</param>
/// <param name="BoxesAdded">Boxes this run added (not an earlier run's of a resumed job).</param>
public sealed record JobSummary(Owlbox.Contracts.V1.JobStatus Status, int Total, int Succeeded, IReadOnlyList<(string SampleId, string Reason)> Failed, int BoxesAdded, TimeSpan Elapsed, string Destination)
{
    /// <summary>Of <see cref="Succeeded"/>, the samples written before this run resumed the job.</summary>
    public int WrittenBefore { get; init; }

    /// <summary>Samples a stopped job did not get to (pending), as far as the job had listed them.</summary>
    public IReadOnlyList<string> NotDone { get; init; } = [];

    /// <summary>The verification stage's model and its calls and tokens in this run (null: the job verifies nothing).</summary>
    public (string Model, Owlbox.Contracts.V1.VerificationUsage Usage)? Verification { get; init; }
}

/// <summary>Receives progress; <see cref="ConsoleReporter"/> prints it in the original Edge Impulse block's style.</summary>
public interface IJobReporter
{
    void Started(RunHeader header);
    void SampleDone(SampleOutcome outcome);
    void Finished(JobSummary summary);
}
