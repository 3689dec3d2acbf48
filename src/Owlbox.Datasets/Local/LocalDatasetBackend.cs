using Owlbox.Datasets.Proposals;

namespace Owlbox.Datasets.Local;

/// <summary>
/// A local folder as a dataset backend. Writers in several processes (writer replicas, or a CLI beside a service)
/// serialise on a lock file and rewrite <c>bounding_boxes.labels</c> or the proposal set atomically, so no
/// process ever overwrites another's samples with a stale copy.
/// </summary>
/// <param name="writeThrough">Each write rewrites the labels file at once (after folding the journal), for one-shot
/// writers that must leave the file complete when they return: an import, <c>proposals apply</c>. A job's writer
/// journals its batches instead (<see cref="LabelJournal"/>) and folds at job end; the review page journals each
/// request and folds when it is idle and when it stops.</param>
public sealed class LocalDatasetBackend(string directory, LocalDatasetAccess? access = null, bool writeThrough = false) : IDatasetBackend
{
    private readonly LocalDatasetAccess _access = access ?? LocalDatasetAccess.AnyFolder;

    private static readonly TimeSpan s_lockWait = TimeSpan.FromSeconds(60);

    public string Directory { get; } = Path.GetFullPath(directory);

    public Task<SampleSelection> SelectAsync(IReadOnlyList<string>? ids, CancellationToken cancellationToken)
    {
        RequireOwnFiles();
        var (found, missing) = LocalDataset.List(Directory).Select(ids);
        return Task.FromResult(new SampleSelection(found.Select(s => s.Id).ToArray(), missing));
    }

    /// <summary>The labels file read and checked whole, streamed: nothing of it is held (a missing file is an empty
    /// one).</summary>
    public Task CheckLabelsAsync(CancellationToken cancellationToken)
    {
        RequireOwnFiles();
        LabelsFile.Check(Path.Combine(Directory, LabelsFile.FileName));
        return Task.CompletedTask;
    }

    public async Task<byte[]> ReadImageAsync(string sampleId, long maxBytes, CancellationToken cancellationToken)
    {
        if (sampleId.Contains('/', StringComparison.Ordinal) || sampleId.Contains('\\', StringComparison.Ordinal) || sampleId is "." or "..")
        {
            throw new DatasetException($"sample id '{sampleId}' is not a file name in the dataset folder");
        }
        var path = Path.Combine(Directory, sampleId);
        _access.RequireInside(path);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new DatasetException($"the image '{sampleId}' is no longer in {Directory}");
        }
        if (info.Length > maxBytes)
        {
            throw new DatasetException($"the file is {info.Length:N0} bytes, above the {maxBytes:N0}-byte limit");
        }
        return await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A local proposal set is one job's single step, so the labels file is what a preview job sees too.
    /// The file is read or written as a whole: a failure is the batch's, thrown.</summary>
    public Task<LabelsRead> ReadLabelsAsync(IReadOnlyList<string> sampleIds, string? proposeJobId, CancellationToken cancellationToken)
    {
        RequireOwnFiles();
        LabelJournal.FoldPending(Directory);
        return Task.FromResult(new LabelsRead(LabelsFile.Read(Path.Combine(Directory, LabelsFile.FileName), sampleIds), []));
    }

    /// <summary>The local write path: samples that are not images of the folder are refused (never written as an
    /// entry); the others are edited, under the lock every writer takes, against what they hold now (the labels file
    /// with the journal's records applied), and the batch's changes appended to the journal as one record
    /// (<see cref="LabelJournal"/>): the cost is the batch's, whatever the dataset's size. The journal is folded into the
    /// labels file when due, at job end (<see cref="FlushAsync"/>) and by the next reader.</summary>
    public async Task<LabelsWritten> UpdateLabelsAsync(IReadOnlyList<LabelUpdate> updates, CancellationToken cancellationToken)
    {
        if (updates.Count == 0)
        {
            return LabelsWritten.Nothing;
        }
        RequireOwnFiles();
        await using var _ = await LockLabelsAsync(Directory, cancellationToken).ConfigureAwait(false);
        RequireOwnFiles(); // again under the lock: a link swapped in meanwhile is not followed either
        var refused = updates.Select(u => u.SampleId).Distinct(StringComparer.Ordinal).Where(id => !LocalDataset.HasImage(Directory, id))
            .Select(id => new FailedSample(id, $"no image named '{LocalDatasetAccess.Shorten(id, 100)}' in {Directory}; its labels were not written"))
            .ToArray();
        var refusedIds = refused.Select(f => f.SampleId).ToHashSet(StringComparer.Ordinal);
        var taken = updates.Where(u => !refusedIds.Contains(u.SampleId)).ToArray();
        if (writeThrough)
        {
            LabelJournal.Fold(Directory); // what jobs journaled comes first, as it did
            return new LabelsWritten(LabelsFile.Update(Path.Combine(Directory, LabelsFile.FileName), taken), refused);
        }
        var records = LabelJournal.Read(Directory, out var validBytes);
        var journaled = records.SelectMany(r => r).ToLookup(s => s.Id, StringComparer.Ordinal);
        var file = LabelsFile.Read(Path.Combine(Directory, LabelsFile.FileName), taken.Select(u => u.SampleId).ToArray());
        var before = new Dictionary<string, SampleLabels>(StringComparer.Ordinal);
        var after = new Dictionary<string, SampleLabels>(StringComparer.Ordinal);
        foreach (var u in taken)
        {
            if (!before.TryGetValue(u.SampleId, out var was))
            {
                was = before[u.SampleId] = LabelJournal.View(journaled[u.SampleId], file[u.SampleId]);
            }
            // A later update of a sample sees the earlier one's result.
            if (u.Edit(after.GetValueOrDefault(u.SampleId) ?? was) is { } next)
            {
                after[u.SampleId] = next;
            }
        }
        // Nothing to write for a sample left as it was: a redelivered result, or one already applied.
        var changed = after.Where(a => !a.Value.SameAs(before[a.Key])).Select(a => new JournaledSample(a.Key, before[a.Key], a.Value)).ToArray();
        if (changed.Length > 0)
        {
            LabelJournal.Append(Directory, changed, records.Count + 1, validBytes);
            if (LabelJournal.Due(Directory, DateTime.UtcNow))
            {
                try
                {
                    LabelJournal.Fold(Directory);
                }
                catch (DatasetException)
                {
                    // The batch is written (journaled); a labels file made invalid meanwhile is named by the next fold,
                    // at job end or when the dataset is next opened, and the journal waits for it.
                }
            }
        }
        return new LabelsWritten(changed.Select(c => SampleChange.Between(c.Id, c.Before, c.After)).ToArray(), refused);
    }

    /// <summary>An import's one write: each sample gets exactly the boxes given (<see cref="LabelUpdate.ReplaceBoxes"/>,
    /// metadata kept), under the lock, after the journal is folded, streamed (<see cref="LabelsBulkReplace"/>) rather
    /// than as an update a sample. Samples that are not images of the folder are refused, as
    /// <see cref="UpdateLabelsAsync"/> refuses them.</summary>
    /// <returns>The samples refused (not written).</returns>
    public async Task<IReadOnlyList<FailedSample>> ReplaceBoxesAsync(IReadOnlyList<(string SampleId, IReadOnlyList<Owlbox.Labeling.Boxes.LabeledBox> Boxes)> samples,
        CancellationToken cancellationToken)
    {
        if (samples.Count == 0)
        {
            return [];
        }
        RequireOwnFiles();
        await using var _ = await LockLabelsAsync(Directory, cancellationToken).ConfigureAwait(false);
        RequireOwnFiles(); // again under the lock: a link swapped in meanwhile is not followed either
        var refused = samples.Where(s => !LocalDataset.HasImage(Directory, s.SampleId))
            .Select(s => new FailedSample(s.SampleId, $"no image named '{LocalDatasetAccess.Shorten(s.SampleId, 100)}' in {Directory}; its labels were not written"))
            .ToArray();
        var refusedIds = refused.Select(f => f.SampleId).ToHashSet(StringComparer.Ordinal);
        LabelJournal.Fold(Directory); // what jobs journaled comes first
        LabelsBulkReplace.Replace(Path.Combine(Directory, LabelsFile.FileName),
            refused.Length == 0 ? samples : samples.Where(s => !refusedIds.Contains(s.SampleId)).ToArray());
        return refused;
    }

    /// <summary>Folds the journal into the labels file (a job's end, or its stop): the file other tools
    /// read then holds every write made.</summary>
    public Task FlushAsync(CancellationToken cancellationToken)
    {
        RequireOwnFiles();
        return LabelJournal.FoldPendingAsync(Directory, cancellationToken);
    }

    /// <summary>The lock every writer of a folder's labels file holds across its read, edit and rename: writer
    /// replicas, a CLI beside a service, <c>proposals apply</c>. Held by the operating system (flock), so a killed
    /// holder releases it.</summary>
    public static Task<FileLock> LockLabelsAsync(string directory, CancellationToken cancellationToken) =>
        FileLock.AcquireAsync(OwlboxFolder.PathOf(directory, "labels.lock"), s_lockWait, cancellationToken);

    /// <summary>The labels file and Owlbox's own folder must lead nowhere outside the dataset roots.</summary>
    private void RequireOwnFiles()
    {
        _access.RequireInside(Path.Combine(Directory, LabelsFile.FileName));
        foreach (var own in new[] { ".owlbox", ".owlbox/labels.lock", ".owlbox/" + LabelJournal.FileName, ".owlbox/proposals" })
        {
            _access.RequireInside(Path.Combine(Directory, own));
        }
    }

    public async Task<IReadOnlyList<FailedSample>> WriteProposalsAsync(ProposalHeader header, IReadOnlyList<SampleProposal> proposals, IReadOnlyList<FailedSample> failures, CancellationToken cancellationToken)
    {
        RequireOwnFiles();
        var store = new ProposalStore(Directory);
        await using var _ = await store.LockAsync(header.JobId, cancellationToken).ConfigureAwait(false);
        var set = store.Exists(header.JobId)
            ? store.Load(header.JobId)
            : new ProposalSet
            {
                JobId = header.JobId,
                CreatedUtc = DateTimeOffset.UtcNow,
                ModelId = header.ModelId,
                ModelType = header.ModelType,
                Prompt = header.Prompt,
                DeleteExisting = header.DeleteExisting,
            };
        foreach (var p in proposals)
        {
            set.Samples.RemoveAll(s => s.SampleId == p.SampleId);
            set.Failed.RemoveAll(f => f.SampleId == p.SampleId);
            set.Samples.Add(p);
        }
        foreach (var f in failures)
        {
            if (!set.Samples.Exists(s => s.SampleId == f.SampleId))
            {
                set.Failed.RemoveAll(x => x.SampleId == f.SampleId);
                set.Failed.Add(f);
            }
        }
        set.Samples.Sort((a, b) => string.CompareOrdinal(a.SampleId, b.SampleId));
        store.Save(set);
        return [];
    }
}
