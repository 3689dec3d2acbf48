using Owlbox.Datasets.Proposals;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets;

/// <summary>A sample's labels: its boxes and its metadata (string values, as Edge Impulse stores them).</summary>
public sealed record SampleLabels(IReadOnlyList<LabeledBox> Boxes, IReadOnlyDictionary<string, string> Metadata)
{
    public static readonly SampleLabels Empty = new([], new Dictionary<string, string>());

    /// <summary>Same boxes in the same order and the same metadata (records compare collections by reference).</summary>
    public bool SameAs(SampleLabels other) => Boxes.SequenceEqual(other.Boxes) && SameMetadata(Metadata, other.Metadata);

    public static bool SameMetadata(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);
}

/// <summary>The samples a job names, by id (no labels: the writer reads each sample's when it writes), and the ids that
/// name none, with the reason.</summary>
public sealed record SampleSelection(IReadOnlyList<string> Found, IReadOnlyList<(string Id, string Problem)> Missing);

/// <summary>Labels read for a batch, and the samples that could not be read for good.</summary>
public sealed record LabelsRead(IReadOnlyDictionary<string, SampleLabels> Labels, IReadOnlyList<FailedSample> Failed);

/// <summary>What a proposal set says about its job, written when the set is created.</summary>
public sealed record ProposalHeader(string JobId, string ModelId, string ModelType, string Prompt, string DeleteExisting);

/// <summary>
/// Where samples come from and where results go: a local folder or an Edge Impulse project. Writes take a batch, so a
/// backend that rewrites a whole file (the local one) does it once per batch, not per sample. A write reads each
/// sample's labels as they are at that moment and hands them to the update's edit, so concurrent jobs, hand edits
/// and proposal applies compose instead of the last writer erasing the others.
/// </summary>
public interface IDatasetBackend
{
    /// <summary>The samples named by <paramref name="ids"/> (all when null), by id: the listing alone, no labels read.</summary>
    Task<SampleSelection> SelectAsync(IReadOnlyList<string>? ids, CancellationToken cancellationToken);

    /// <summary>Throws <see cref="DatasetException"/> when the dataset's labels cannot be read (a damaged labels file):
    /// a job stops at submission rather than at its first write.</summary>
    Task CheckLabelsAsync(CancellationToken cancellationToken);

    /// <summary>The image's bytes as stored. Throws <see cref="DatasetException"/> for a permanent problem
    /// (missing, too large) and <see cref="IOException"/> for one worth retrying.</summary>
    Task<byte[]> ReadImageAsync(string sampleId, long maxBytes, CancellationToken cancellationToken);

    /// <summary>The samples' labels as they are now (a sample without labels maps to <see cref="SampleLabels.Empty"/>);
    /// with <paramref name="proposeJobId"/>, as that preview job sees them: with the changes earlier steps of the same
    /// job proposed (Studio's multi-step AI labeling actions). A sample that cannot be read is listed in
    /// <see cref="LabelsRead.Failed"/>, not in the labels.</summary>
    Task<LabelsRead> ReadLabelsAsync(IReadOnlyList<string> sampleIds, string? proposeJobId, CancellationToken cancellationToken);

    /// <summary>Apply mode, the one write path of labels: reads each sample's current labels, applies its edit, writes
    /// boxes then metadata (see <see cref="LabelUpdate"/> for the edits every writer uses).</summary>
    /// <returns>What changed, per sample (<see cref="SampleChange"/>: the boxes actually added and removed), and the
    /// samples that could not be written for good (not in the dataset, deleted meanwhile), with the reason; those were
    /// not written at all. A failure worth retrying throws instead.</returns>
    Task<LabelsWritten> UpdateLabelsAsync(IReadOnlyList<LabelUpdate> updates, CancellationToken cancellationToken);

    /// <summary>Makes every write so far visible where other tools read the dataset (a local folder folds its journal
    /// into its labels file); called at job end. Nothing to do for a backend that writes through.</summary>
    Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Preview mode: record proposals (and failures) under the job id; labels stay untouched.</summary>
    /// <returns>As <see cref="UpdateLabelsAsync"/>: the proposals that could not be recorded for good.</returns>
    Task<IReadOnlyList<FailedSample>> WriteProposalsAsync(ProposalHeader header, IReadOnlyList<SampleProposal> proposals, IReadOnlyList<FailedSample> failures, CancellationToken cancellationToken);
}
