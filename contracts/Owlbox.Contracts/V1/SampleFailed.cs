namespace Owlbox.Contracts.V1;

/// <summary>A sample cannot be labeled; <paramref name="Stage"/> is the stage that gave up on it.</summary>
public sealed record SampleFailed(Guid JobId, string SampleId, Stage Stage, string Reason) : IJobMessage;
