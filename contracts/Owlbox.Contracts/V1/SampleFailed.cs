namespace Owlbox.Contracts.V1;

/// <summary>A sample cannot be labeled; <paramref name="Stage"/> is fetch, detect or write.</summary>
public sealed record SampleFailed(Guid JobId, string SampleId, string Stage, string Reason) : IJobMessage;
