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
public sealed class EdgeImpulseDatasetBackend(StudioClient client, int projectId, ProjectListings? listings = null) : IDatasetBackend
{
    private const int PageSize = 1000;

    /// <summary>Every sample in the training and testing categories, by id.</summary>
    private async Task<IReadOnlyDictionary<long, StudioSample>> ListAsync(CancellationToken cancellationToken)
    {
        var all = new Dictionary<long, StudioSample>();
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
                catch (IOException e)
                {
                    // Studio did not answer after the client's retries: worth retrying later, so still an IOException.
                    throw new IOException($"project {projectId} could not be listed: {e.Message}", e.InnerException ?? e);
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
        return all;
    }

    public async Task<SampleSelection> SelectAsync(IReadOnlyList<string>? ids, CancellationToken cancellationToken)
    {
        var all = listings is null
            ? await ListAsync(cancellationToken).ConfigureAwait(false)
            : await listings.GetAsync(client, projectId, () => ListAsync(CancellationToken.None)).WaitAsync(cancellationToken).ConfigureAwait(false);
        var found = new List<string>();
        var missing = new List<(string, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in ids ?? all.Keys.Order().Select(k => k.ToString(CultureInfo.InvariantCulture)).ToArray())
        {
            if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                missing.Add((id, $"'{id}' is not an Edge Impulse sample id (an integer)"));
                continue;
            }
            var sample = all.TryGetValue(n, out var listed) ? listed : await FindOutsideTheListingAsync(n, cancellationToken).ConfigureAwait(false);
            if (sample is null)
            {
                missing.Add((id, $"sample {id} is not in project {projectId}"));
            }
            else if (seen.Add(id))
            {
                found.Add(id);
            }
        }
        return new SampleSelection(found, missing);
    }

    /// <summary>Studio serves each sample's labels with the sample itself: there is no labels file to check.</summary>
    public Task CheckLabelsAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>A sample named by id that the training and testing listings do not hold (another category, such as
    /// post-processing or anomaly): read by id, as the original block does.</summary>
    private async Task<StudioSample?> FindOutsideTheListingAsync(long sampleId, CancellationToken cancellationToken)
    {
        try
        {
            return await client.GetSampleAsync(projectId, sampleId, null, cancellationToken).ConfigureAwait(false);
        }
        catch (StudioApiException)
        {
            return null; // Studio does not know it
        }
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

    public async Task<LabelsRead> ReadLabelsAsync(IReadOnlyList<string> sampleIds, string? proposeJobId, CancellationToken cancellationToken)
    {
        var job = proposeJobId is null ? (int?)null : PreviewJob(proposeJobId);
        var labels = new Dictionary<string, SampleLabels>(StringComparer.Ordinal);
        var failed = new List<FailedSample>();
        foreach (var id in sampleIds)
        {
            try
            {
                labels[id] = await ReadAsync(id, job, cancellationToken).ConfigureAwait(false);
            }
            catch (StudioApiException e)
            {
                failed.Add(new FailedSample(id, e.Message)); // this sample only (deleted meanwhile, say)
            }
        }
        return new LabelsRead(labels, failed);
    }

    /// <summary>Reads each sample right before writing it, as the original block does: boxes set in Studio while the
    /// job ran, or by another job, are merged into instead of overwritten.</summary>
    /// <remarks>A sample Studio refuses for good (deleted meanwhile, say) fails alone; the others are written. Studio
    /// not answering throws: the batch is retried, and what was written already changes nothing the second time.</remarks>
    public async Task<LabelsWritten> UpdateLabelsAsync(IReadOnlyList<LabelUpdate> updates, CancellationToken cancellationToken)
    {
        var failed = new List<FailedSample>();
        var changes = new List<SampleChange>();
        foreach (var u in updates)
        {
            try
            {
                if (await UpdateAsync(u, cancellationToken).ConfigureAwait(false) is { } change)
                {
                    changes.Add(change);
                }
            }
            catch (StudioApiException e)
            {
                failed.Add(new FailedSample(u.SampleId, e.Message));
            }
        }
        return new LabelsWritten(changes, failed);
    }

    private async Task<SampleChange?> UpdateAsync(LabelUpdate u, CancellationToken cancellationToken)
    {
        var current = await ReadAsync(u.SampleId, null, cancellationToken).ConfigureAwait(false);
        if (u.Edit(current) is not { } next || next.SameAs(current))
        {
            return null; // written before: a retried or redelivered write changes nothing
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
        return SampleChange.Between(u.SampleId, current, next);
    }

    private async Task<SampleLabels> ReadAsync(string sampleId, int? proposedActionsJobId, CancellationToken cancellationToken)
    {
        var sample = await client.GetSampleAsync(projectId, SampleNumber(sampleId), proposedActionsJobId, cancellationToken).ConfigureAwait(false);
        return new SampleLabels(
            sample.BoundingBoxes.Select(b => new LabeledBox(b.Label, b.X, b.Y, b.Width, b.Height)).ToArray(),
            sample.Metadata ?? new Dictionary<string, string>());
    }

    public async Task<IReadOnlyList<FailedSample>> WriteProposalsAsync(ProposalHeader header, IReadOnlyList<SampleProposal> proposals, IReadOnlyList<FailedSample> failures, CancellationToken cancellationToken)
    {
        var jobId = PreviewJob(header.JobId);
        var failed = new List<FailedSample>();
        foreach (var p in proposals)
        {
            try
            {
                await client.SetProposedChangesAsync(projectId, SampleNumber(p.SampleId), jobId,
                    new StudioProposedChanges(ToStudio(p.BoundingBoxes), p.Metadata), cancellationToken).ConfigureAwait(false);
            }
            catch (StudioApiException e)
            {
                failed.Add(new FailedSample(p.SampleId, e.Message));
            }
        }
        // Studio has no place for a failure in proposed changes; failures are in the job's status and output.
        return failed;
    }

    private static int PreviewJob(string jobId) =>
        int.TryParse(jobId, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new DatasetException($"--propose-actions '{jobId}' must be Studio's integer job id");

    private static StudioBoundingBox[] ToStudio(IReadOnlyList<LabeledBox> boxes) =>
        boxes.Select(b => new StudioBoundingBox(b.Label, b.X, b.Y, b.Width, b.Height)).ToArray();

    private static long SampleNumber(string sampleId) =>
        long.TryParse(sampleId, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new DatasetException($"'{sampleId}' is not an Edge Impulse sample id");
}
