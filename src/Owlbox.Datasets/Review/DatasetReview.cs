using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Policies;

namespace Owlbox.Datasets.Review;

/// <summary>A proposed box: its set, its image, its place in the image's new boxes.</summary>
public sealed record ProposalRef(string JobId, string SampleId, int Index);

/// <summary>
/// What the review page changes in a local dataset, each change undoable. Accepting a proposed box adds it (with its
/// score) to the labels file through the locked write path every writer takes, then records the decision in the
/// proposal set under the set's lock; a crash between the two leaves the box pending and in the labels, and accepting
/// it again adds nothing (a box identical to one the image has is never added twice). Rejecting records the decision
/// only. Removing an existing box takes it out of the labels file.
/// </summary>
public sealed class DatasetReview(string directory)
{
    private readonly string _directory = Path.GetFullPath(directory);
    private readonly Stack<Func<CancellationToken, Task<IReadOnlyList<string>>>> _undo = new();
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    public ProposalStore Proposals => new(_directory);

    public bool CanUndo => _undo.Count > 0;

    /// <summary>Accepts or rejects pending proposed boxes; boxes already decided are left as they are.</summary>
    /// <returns>The images whose boxes changed.</returns>
    public Task<IReadOnlyList<string>> DecideAsync(IReadOnlyList<ProposalRef> boxes, ReviewDecision decision, CancellationToken cancellationToken) =>
        OneAtATimeAsync(async () =>
        {
            var decided = new List<ProposalRef>();
            foreach (var set in boxes.GroupBy(b => b.JobId, StringComparer.Ordinal))
            {
                decided.AddRange(await SetDecisionsAsync(set.Key, [.. set], from: null, to: decision, cancellationToken).ConfigureAwait(false));
            }
            if (decided.Count > 0)
            {
                _undo.Push(async ct =>
                {
                    foreach (var set in decided.GroupBy(b => b.JobId, StringComparer.Ordinal))
                    {
                        await SetDecisionsAsync(set.Key, [.. set], from: decision, to: null, ct).ConfigureAwait(false);
                    }
                    return Images(decided);
                });
            }
            return (IReadOnlyList<string>)Images(decided);
        }, cancellationToken);

    /// <summary>Takes existing boxes out of an image's labels (one occurrence each).</summary>
    public Task<IReadOnlyList<string>> RemoveLabelsAsync(string sampleId, IReadOnlyList<LabeledBox> boxes, CancellationToken cancellationToken) =>
        OneAtATimeAsync<IReadOnlyList<string>>(async () =>
        {
            var removed = new List<(int Index, LabeledBox Box)>();
            await WriteLabelsAsync(sampleId, current =>
            {
                removed.Clear(); // the edit may run again when the file changed under the write
                var left = current.ToList();
                foreach (var box in boxes)
                {
                    var i = left.IndexOf(box);
                    if (i >= 0)
                    {
                        removed.Add((i + removed.Count(r => r.Index <= i), left[i]));
                        left.RemoveAt(i);
                    }
                }
                return left;
            }, cancellationToken).ConfigureAwait(false);
            if (removed.Count > 0)
            {
                var put = removed.OrderBy(r => r.Index).ToArray();
                _undo.Push(async ct =>
                {
                    await WriteLabelsAsync(sampleId, current =>
                    {
                        var list = current.ToList();
                        foreach (var (index, box) in put)
                        {
                            list.Insert(Math.Min(index, list.Count), box);
                        }
                        return list;
                    }, ct).ConfigureAwait(false);
                    return [sampleId];
                });
            }
            return removed.Count > 0 ? [sampleId] : [];
        }, cancellationToken);

    /// <summary>Reverses the latest change not yet undone; null when there is none.</summary>
    public Task<IReadOnlyList<string>?> UndoAsync(CancellationToken cancellationToken) =>
        OneAtATimeAsync<IReadOnlyList<string>?>(async () =>
            _undo.TryPop(out var undo) ? await undo(cancellationToken).ConfigureAwait(false) : null, cancellationToken);

    /// <summary>Moves boxes whose decision is <paramref name="from"/> to <paramref name="to"/>; the labels file follows
    /// (an accepted box is added, an accept undone takes it out).</summary>
    private async Task<IReadOnlyList<ProposalRef>> SetDecisionsAsync(string jobId, IReadOnlyList<ProposalRef> refs,
        ReviewDecision? from, ReviewDecision? to, CancellationToken cancellationToken)
    {
        var store = Proposals;
        await using var _ = await store.LockAsync(jobId, cancellationToken).ConfigureAwait(false);
        var set = store.Load(jobId);
        var changed = new List<ProposalRef>();
        foreach (var r in refs.Distinct())
        {
            var i = set.Samples.FindIndex(s => s.SampleId == r.SampleId);
            if (i < 0 || r.Index < 0 || r.Index >= set.Samples[i].Detections.Count || set.Samples[i].Detections[r.Index].Decision != from)
            {
                continue; // gone, or decided meanwhile (another tab, an undo): left as it is
            }
            changed.Add(r);
        }
        // The order makes a crash between the two writes harmless: the box is in the labels while its proposal is
        // still pending (accepting it again adds nothing), never out of the labels while marked accepted.
        var boxesByImage = changed.GroupBy(r => r.SampleId, StringComparer.Ordinal).Select(image =>
        {
            var sample = set.Samples.First(s => s.SampleId == image.Key);
            return (Image: image.Key, Boxes: image.Select(r => sample.Detections[r.Index].ToLabeledBox()).ToArray());
        }).ToList();
        if (to == ReviewDecision.Accepted)
        {
            foreach (var (image, boxes) in boxesByImage)
            {
                await WriteLabelsAsync(image, current => LabelMerge.Merge(current, boxes, [], DeleteExistingPolicy.No), cancellationToken).ConfigureAwait(false);
            }
        }
        if (changed.Count > 0)
        {
            var samples = set.Samples.Select(s =>
            {
                var mine = changed.Where(r => r.SampleId == s.SampleId).Select(r => r.Index).ToHashSet();
                return mine.Count == 0 ? s : s with { Detections = s.Detections.Select((d, k) => mine.Contains(k) ? d with { Decision = to } : d).ToArray() };
            }).ToList();
            store.Save(set with { Samples = samples });
        }
        if (from == ReviewDecision.Accepted)
        {
            foreach (var (image, boxes) in boxesByImage)
            {
                await WriteLabelsAsync(image, current =>
                {
                    var left = current.ToList();
                    foreach (var b in boxes)
                    {
                        left.Remove(b);
                    }
                    return left;
                }, cancellationToken).ConfigureAwait(false);
            }
        }
        return changed;
    }

    private Task<IReadOnlyList<FailedSample>> WriteLabelsAsync(string sampleId, Func<IReadOnlyList<LabeledBox>, IReadOnlyList<LabeledBox>> edit, CancellationToken cancellationToken) =>
        new LocalDatasetBackend(_directory).UpdateLabelsAsync(
            [new LabelUpdate(sampleId, current => current with { Boxes = edit(current.Boxes) })], cancellationToken);

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
