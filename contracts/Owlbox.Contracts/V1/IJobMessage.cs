using MassTransit;

namespace Owlbox.Contracts.V1;

/// <summary>A message about one job: every stage tags its trace spans with the job id from here. Not a message type
/// of its own (no exchange, not in the envelope's type list).</summary>
[ExcludeFromTopology]
[ExcludeFromImplementedTypes]
public interface IJobMessage
{
    Guid JobId { get; }
}
