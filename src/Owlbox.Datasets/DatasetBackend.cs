using Owlbox.Datasets.Proposals;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets;

/// <summary>A sample's labels: its boxes and its metadata (string values, as Edge Impulse stores them).</summary>
public sealed record SampleLabels(IReadOnlyList<LabeledBox> Boxes, IReadOnlyDictionary<string, string> Metadata)
{
    public static readonly SampleLabels Empty = new([], new Dictionary<string, string>());
}

/// <summary>A sample as the dataset lists it, with its labels at that moment (the job's "before" snapshot).</summary>
public sealed record DatasetSample(string Id, SampleLabels Labels);

public sealed record SampleSelection(IReadOnlyList<DatasetSample> Found, IReadOnlyList<(string Id, string Problem)> Missing);

public sealed record LabelWrite(string SampleId, SampleLabels Labels);

/// <summary>What a proposal set says about its job, written when the set is created.</summary>
public sealed record ProposalHeader(string JobId, string ModelId, string ModelType, string Prompt, string DeleteExisting);

/// <summary>
/// Where samples come from and where results go: the local folder now, the Edge Impulse Studio API next. Writes
/// take a batch, so a backend that rewrites a whole file (the local one) does it once per batch, not per sample.
/// Every write replaces a sample's state (never appends), so repeating a write is harmless.
/// </summary>
public interface IDatasetBackend
{
    /// <summary>The samples named by <paramref name="ids"/> (all when null), with their current labels.</summary>
    Task<SampleSelection> SelectAsync(IReadOnlyList<string>? ids, CancellationToken cancellationToken);

    /// <summary>The image's bytes as stored. Throws <see cref="DatasetException"/> for a permanent problem
    /// (missing, too large) and <see cref="IOException"/> for one worth retrying.</summary>
    Task<byte[]> ReadImageAsync(string sampleId, long maxBytes, CancellationToken cancellationToken);

    /// <summary>Apply mode: replace each sample's boxes, then its metadata.</summary>
    Task WriteLabelsAsync(IReadOnlyList<LabelWrite> writes, CancellationToken cancellationToken);

    /// <summary>Preview mode: record proposals (and failures) under the job id; labels stay untouched.</summary>
    Task WriteProposalsAsync(ProposalHeader header, IReadOnlyList<SampleProposal> proposals, IReadOnlyList<FailedSample> failures, CancellationToken cancellationToken);
}

/// <summary>Opens a backend from a job's dataset reference ("local" + a folder path, later "edge-impulse" + a project).</summary>
public interface IDatasetBackendFactory
{
    IDatasetBackend Open(string kind, string location);
}
