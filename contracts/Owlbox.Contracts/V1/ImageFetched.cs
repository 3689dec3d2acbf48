using MassTransit;

namespace Owlbox.Contracts.V1;

/// <summary>A sample's image bytes as stored (JPEG, PNG, ...), by claim check: inline when small, otherwise in the
/// shared message-data store.</summary>
public sealed record ImageFetched(Guid JobId, string SampleId, MessageData<byte[]> Image) : IJobMessage;
