using System.Globalization;
using Owlbox.Datasets;
using Owlbox.Datasets.Proposals;
using Owlbox.Labeling.Boxes;

namespace Owlbox.EdgeImpulse;

/// <summary>
/// An Edge Impulse project as a dataset. Samples are Studio sample ids; apply mode reads each sample, then sets boxes
/// then metadata merged into what it read; preview mode stores proposed changes for every sample and never
/// calls the direct writers. The location is <c>{EI_API_ENDPOINT}#{projectId}</c>; the API key is not in it: it comes
/// from this process's own secret store.
/// </summary>
public sealed class EdgeImpulseDatasetBackend(StudioClient client, int projectId) : IDatasetBackend
{
    private const int PageSize = 1000;

    public async Task<SampleSelection> SelectAsync(IReadOnlyList<string>? ids, CancellationToken cancellationToken)
    {
        var all = new Dictionary<int, StudioSample>();
        foreach (var category in new[] { "training", "testing" })
        {
            for (var offset = 0; ; offset += PageSize)
            {
                IReadOnlyList<StudioSample> page;
                try
                {
                    (page, _) = await client.ListSamplesAsync(projectId, category, PageSize, offset, null, cancellationToken).ConfigureAwait(false);
                }
                catch (StudioApiException e)
                {
                    throw new DatasetException($"project {projectId} could not be listed: {e.Message}", e); // a wrong key, say: permanent
                }
                foreach (var s in page)
                {
                    all[s.Id] = s;
                }
                if (page.Count < PageSize)
                {
                    break;
                }
            }
        }
        var found = new List<DatasetSample>();
        var missing = new List<(string, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in ids ?? all.Keys.Order().Select(k => k.ToString(CultureInfo.InvariantCulture)).ToArray())
        {
            if (!int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                missing.Add((id, $"'{id}' is not an Edge Impulse sample id (an integer)"));
            }
            else if (!all.TryGetValue(n, out var sample))
            {
                missing.Add((id, $"sample {id} is not in project {projectId}"));
            }
            else if (seen.Add(id))
            {
                found.Add(new DatasetSample(id, new SampleLabels(
                    sample.BoundingBoxes.Select(b => new LabeledBox(b.Label, b.X, b.Y, b.Width, b.Height)).ToArray(),
                    sample.Metadata ?? new Dictionary<string, string>())));
            }
        }
        return new SampleSelection(found, missing);
    }

    public async Task<byte[]> ReadImageAsync(string sampleId, long maxBytes, CancellationToken cancellationToken)
    {
        try
        {
            var bytes = await client.GetSampleImageAsync(projectId, SampleNumber(sampleId), cancellationToken).ConfigureAwait(false);
            return bytes.LongLength > maxBytes
                ? throw new DatasetException($"the image is {bytes.LongLength:N0} bytes, above the {maxBytes:N0}-byte limit")
                : bytes;
        }
        catch (StudioApiException e)
        {
            throw new DatasetException(e.Message, e);
        }
    }

    public async Task<IReadOnlyDictionary<string, SampleLabels>> ReadLabelsAsync(IReadOnlyList<string> sampleIds, CancellationToken cancellationToken)
    {
        var labels = new Dictionary<string, SampleLabels>(StringComparer.Ordinal);
        foreach (var id in sampleIds)
        {
            labels[id] = await ReadAsync(id, cancellationToken).ConfigureAwait(false);
        }
        return labels;
    }

    /// <summary>Reads each sample right before writing it, as the original block does: boxes set in Studio while the
    /// job ran, or by another job, are merged into instead of overwritten.</summary>
    public async Task UpdateLabelsAsync(IReadOnlyList<LabelUpdate> updates, CancellationToken cancellationToken)
    {
        foreach (var u in updates)
        {
            var current = await ReadAsync(u.SampleId, cancellationToken).ConfigureAwait(false);
            if (u.Edit(current) is not { } next || next.SameAs(current))
            {
                continue; // written before: a retried or redelivered write changes nothing
            }
            var id = SampleNumber(u.SampleId);
            if (!next.Boxes.SequenceEqual(current.Boxes))
            {
                await client.SetBoundingBoxesAsync(projectId, id, ToStudio(next.Boxes), cancellationToken).ConfigureAwait(false);
            }
            if (!SampleLabels.SameMetadata(next.Metadata, current.Metadata))
            {
                await client.SetMetadataAsync(projectId, id, next.Metadata, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<SampleLabels> ReadAsync(string sampleId, CancellationToken cancellationToken)
    {
        var sample = await client.GetSampleAsync(projectId, SampleNumber(sampleId), null, cancellationToken).ConfigureAwait(false);
        return new SampleLabels(
            sample.BoundingBoxes.Select(b => new LabeledBox(b.Label, b.X, b.Y, b.Width, b.Height)).ToArray(),
            sample.Metadata ?? new Dictionary<string, string>());
    }

    public async Task WriteProposalsAsync(ProposalHeader header, IReadOnlyList<SampleProposal> proposals, IReadOnlyList<FailedSample> failures, CancellationToken cancellationToken)
    {
        if (!int.TryParse(header.JobId, NumberStyles.None, CultureInfo.InvariantCulture, out var jobId))
        {
            throw new DatasetException($"--propose-actions '{header.JobId}' must be Studio's integer job id");
        }
        foreach (var p in proposals)
        {
            await client.SetProposedChangesAsync(projectId, SampleNumber(p.SampleId), jobId,
                new StudioProposedChanges(ToStudio(p.BoundingBoxes), p.Metadata), cancellationToken).ConfigureAwait(false);
        }
        // Studio has no place for a failure in proposed changes; failures are in the job's status and output.
    }

    private static StudioBoundingBox[] ToStudio(IReadOnlyList<LabeledBox> boxes) =>
        boxes.Select(b => new StudioBoundingBox(b.Label, b.X, b.Y, b.Width, b.Height)).ToArray();

    private static int SampleNumber(string sampleId) =>
        int.TryParse(sampleId, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new DatasetException($"'{sampleId}' is not an Edge Impulse sample id");
}
