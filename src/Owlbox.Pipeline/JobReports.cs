using Owlbox.Labeling.Filtering;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Pipeline;

/// <summary>What a job is about to do, reported once its setup has passed every check.</summary>
public sealed record JobPlan(string ModelId, string ModelType, string ExecutionProvider, IReadOnlyList<PromptLine> Lines, int SampleCount, string Destination);

/// <summary>One sample's result, in job order.</summary>
public sealed record SampleOutcome(int Index, int Total, string SampleId, TimeSpan Elapsed, IReadOnlyList<DetectedBox> Kept, int Dropped, string? Error)
{
    public bool Succeeded => Error is null;
}

public sealed record JobSummary(int Total, int Succeeded, IReadOnlyList<(string SampleId, string Reason)> Failed, int BoxesAdded, TimeSpan Elapsed, string Destination);

/// <summary>Receives progress; the CLI prints it in the seed block's style.</summary>
public interface IJobReporter
{
    void Started(JobPlan plan);
    void SampleDone(SampleOutcome outcome);
    void Finished(JobSummary summary);
}
