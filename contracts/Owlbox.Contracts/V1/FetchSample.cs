namespace Owlbox.Contracts.V1;

/// <summary>Fetch one sample's image (sent per sample, so fetcher replicas share the work and retry it alone).</summary>
public sealed record FetchSample(Guid JobId, string SampleId) : IJobMessage;
