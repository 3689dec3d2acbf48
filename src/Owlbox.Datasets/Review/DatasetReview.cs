using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Policies;

namespace Owlbox.Datasets.Review;

/// <summary>A proposed box: its set, its image, its place in the image's new boxes.</summary>
public sealed record ProposalRef(string JobId, string SampleId, int Index);

/// <summary>
/// What the review page changes in a local dataset, each change undoable by the page session (tab) that made it. Every
/// change goes through the write path every writer takes (<see cref="IDatasetBackend.UpdateLabelsAsync"/>), whose
/// result says what the change did, box by box; the undo entry records that and nothing more. Accepting a proposed box
/// adds it (with its score) unless the image has an identical box already (then nothing is added, and its undo takes
/// nothing out), then records the decision in the proposal set under the set's lock; a crash between the two leaves
/// the box pending and in the labels, and accepting it again adds nothing. Rejecting records the decision only.
/// Removing an existing box takes it out. An undo reverts exactly what its change did, and only where the image is
/// still as the change left it (<see cref="SampleChange.Revert"/>): a box a job or another tab re-added or removed
/// since is theirs. An image not in the folder is refused, never written. Each request is one labels update, whatever
/// its size.
/// </summary>
/// <param name="journaled">Each update is appended to the label journal (<see cref="LabelJournal"/>: its cost is the
/// request's, not the dataset's) and folded into the labels file by the caller (the review server, when the page is quiet
/// and at stop) or by the next process to open the dataset; otherwise each update rewrites the labels file at once.</param>
public sealed class DatasetReview(string directory, bool journaled = false)
{
    private readonly string _directory = Path.GetFullPath(directory);
    private readonly UndoHistory<UndoEntry> _undo = new();
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    /// <summary>What one change did: the proposals it decided (and to what), and what it changed in the labels.</summary>
    private sealed record UndoEntry(IReadOnlyList<ProposalRef> Decided, ReviewDecision Decision, IReadOnlyList<SampleChange> Changes);

    public ProposalStore Proposals => new(_directory);

    private LocalDatasetBackend Labels => new(_directory, writeThrough: !journaled); // one labels update per request

    public bool CanUndo(string session) => _undo.CanUndo(session);

    /// <summary>Accepts or rejects pending proposed boxes; boxes already decided are left as they are, and so are boxes
    /// of an image no longer in the folder.</summary>
    /// <returns>The images whose boxes were decided.</returns>
    /// <exception cref="DatasetException">A box no set holds (a set, image or index that is not there): nothing is
    /// written.</exception>
    public Task<IReadOnlyList<string>> DecideAsync(string session, IReadOnlyList<ProposalRef> boxes, ReviewDecision decision, CancellationToken cancellationToken) =>
        OneAtATimeAsync(async () =>
        {
            // All or nothing: every box is looked up before anything is written (sets are saved whole, atomically).
            foreach (var set in boxes.GroupBy(b => b.JobId, StringComparer.Ordinal))
            {
                RequireAll(Proposals.Load(set.Key), [.. set]);
            }
            var decided = new List<ProposalRef>();
            var changes = new List<SampleChange>();
            foreach (var set in boxes.GroupBy(b => b.JobId, StringComparer.Ordinal))
            {
                var (refs, changed) = await DecideInSetAsync(set.Key, [.. set], decision, cancellationToken).ConfigureAwait(false);
                decided.AddRange(refs);
                changes.AddRange(changed);
            }
            if (decided.Count > 0)
            {
                _undo.Push(session, new UndoEntry(decided, decision, changes));
            }
            return (IReadOnlyList<string>)Images(decided);
        }, cancellationToken);

    /// <summary>Takes existing boxes out of an image's labels (one occurrence each; a box the image lacks is skipped).</summary>
    /// <returns>The image when a box was removed, else nothing.</returns>
    /// <exception cref="DatasetException">The image is not in the dataset (nothing is written).</exception>
    public Task<IReadOnlyList<string>> RemoveLabelsAsync(string session, string sampleId, IReadOnlyList<LabeledBox> boxes, CancellationToken cancellationToken) =>
        OneAtATimeAsync<IReadOnlyList<string>>(async () =>
        {
            var written = await Labels.UpdateLabelsAsync([LabelUpdate.RemoveBoxes(sampleId, boxes)], cancellationToken).ConfigureAwait(false);
            if (written.Failed is [var refused, ..])
            {
                throw new DatasetException(refused.Reason);
            }
            var changes = written.Changes.Where(c => c.ChangedBoxes).ToArray();
            if (changes.Length == 0)
            {
                return [];
            }
            _undo.Push(session, new UndoEntry([], default, changes));
            return [sampleId];
        }, cancellationToken);

    /// <summary>Reverses the session's latest change not yet undone; null when it has none.</summary>
    /// <returns>The images the undo touched.</returns>
    public Task<IReadOnlyList<string>?> UndoAsync(string session, CancellationToken cancellationToken) =>
        OneAtATimeAsync<IReadOnlyList<string>?>(async () =>
        {
            if (!_undo.TryPop(session, out var entry))
            {
                return null;
            }
            // Decision first: a crash between the two leaves an accepted box pending and in the labels, never
            // accepted and gone.
            foreach (var set in entry.Decided.GroupBy(b => b.JobId, StringComparer.Ordinal))
            {
                await ClearDecisionsAsync(set.Key, [.. set], entry.Decision, cancellationToken).ConfigureAwait(false);
            }
            if (entry.Changes.Count > 0)
            {
                await Labels.UpdateLabelsAsync(entry.Changes.Select(LabelUpdate.Revert).ToArray(), cancellationToken).ConfigureAwait(false);
            }
            return Images(entry.Decided).Union(entry.Changes.Select(c => c.SampleId), StringComparer.Ordinal).ToArray();
        }, cancellationToken);

    /// <summary>Decides the refs still pending in one set: accepted boxes are merged into the labels first (the order
    /// makes a crash between the two writes harmless: the box is in the labels while its proposal is still pending,
    /// never out of the labels while marked accepted), then the decisions are saved.</summary>
    private async Task<(IReadOnlyList<ProposalRef> Decided, IReadOnlyList<SampleChange> Changes)> DecideInSetAsync(
        string jobId, IReadOnlyList<ProposalRef> refs, ReviewDecision decision, CancellationToken cancellationToken)
    {
        var store = Proposals;
        await using var _ = await store.LockAsync(jobId, cancellationToken).ConfigureAwait(false);
        var set = store.Load(jobId);
        RequireAll(set, refs); // the set may have changed since the check before any write
        var pending = refs.Distinct().Where(r => Detection(set, r) is { Decision: null }).ToList();
        IReadOnlyList<SampleChange> changes = [];
        if (decision == ReviewDecision.Accepted && pending.Count > 0)
        {
            var written = await Labels.UpdateLabelsAsync(pending.GroupBy(r => r.SampleId, StringComparer.Ordinal)
                .Select(image => LabelUpdate.MergeBoxes(image.Key, image.Select(r => Detection(set, r)!.ToLabeledBox()).ToArray(), [], DeleteExistingPolicy.No))
                .ToArray(), cancellationToken).ConfigureAwait(false);
            var refused = written.Failed.Select(f => f.SampleId).ToHashSet(StringComparer.Ordinal);
            pending.RemoveAll(r => refused.Contains(r.SampleId)); // not in the labels: not accepted either
            changes = written.Changes.Where(c => c.ChangedBoxes).ToArray();
        }
        Save(store, set, pending, decision);
        return (pending, changes);
    }

    /// <summary>Moves the refs whose decision is still <paramref name="from"/> back to pending.</summary>
    private async Task ClearDecisionsAsync(string jobId, IReadOnlyList<ProposalRef> refs, ReviewDecision from, CancellationToken cancellationToken)
    {
        var store = Proposals;
        await using var _ = await store.LockAsync(jobId, cancellationToken).ConfigureAwait(false);
        var set = store.Load(jobId);
        Save(store, set, refs.Distinct().Where(r => Detection(set, r)?.Decision == from).ToList(), null);
    }

    /// <summary>The proposed box a ref names; null when it is gone (another set saved under the id, say).</summary>
    private static ProposedBox? Detection(ProposalSet set, ProposalRef r) =>
        set.Samples.Find(s => s.SampleId == r.SampleId) is { } sample && r.Index >= 0 && r.Index < sample.Detections.Count
            ? sample.Detections[r.Index]
            : null;

    private static void RequireAll(ProposalSet set, IReadOnlyList<ProposalRef> refs)
    {
        if (refs.FirstOrDefault(r => Detection(set, r) is null) is { } missing)
        {
            throw new DatasetException($"image '{missing.SampleId}' has no proposal {missing.Index} in set '{set.JobId}'; nothing was decided");
        }
    }

    private static void Save(ProposalStore store, ProposalSet set, List<ProposalRef> refs, ReviewDecision? to)
    {
        if (refs.Count == 0)
        {
            return;
        }
        var samples = set.Samples.Select(s =>
        {
            var mine = refs.Where(r => r.SampleId == s.SampleId).Select(r => r.Index).ToHashSet();
            return mine.Count == 0 ? s : s with { Detections = s.Detections.Select((d, k) => mine.Contains(k) ? d with { Decision = to } : d).ToArray() };
        }).ToList();
        store.Save(set with { Samples = samples });
    }

    private static string[] Images(IEnumerable<ProposalRef> refs) => refs.Select(r => r.SampleId).Distinct(StringComparer.Ordinal).ToArray();

    private async Task<T> OneAtATimeAsync<T>(Func<Task<T>> change, CancellationToken cancellationToken)
    {
        await _oneAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await change().ConfigureAwait(false);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }
}
