using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;

namespace Owlbox.Cli.Review;

/// <summary>
/// The page's state, a page of images at a time, so a request costs its page, not the dataset. Per request only the
/// page's images are read: their labels where the labels file's index says they are (<see cref="LabelsFile.Read"/>,
/// never the whole file) with the label journal's records on top, and their proposals looked up in the set. What the
/// totals need is kept between requests and made again only when its files moved: the folder's image list (by the
/// folder's modification time: an image added, removed or renamed changes it) and the proposal sets with the totals
/// counted from them (by their files' times and sizes; after this server's own change at once, <see cref="Refresh"/>).
/// No total needs the labels file: the label counts shown are the page's.
/// </summary>
public sealed class ReviewStateCache(string directory, ProposalStore store)
{
    private readonly Lock _lock = new();
    private Listing? _listing;
    private SetSummary? _sets;
    private Counted? _counted;

    /// <summary>The folder's images in name order, and as a set, as listed when the folder's time was
    /// <paramref name="Written"/>; <paramref name="Settled"/>: listed long enough after that time that a change within
    /// the same tick of the file system's clock would have been seen.</summary>
    private sealed record Listing(DateTime Written, bool Settled, string[] Ids, HashSet<string> Names);

    /// <summary>File times are taken from a coarse clock: a folder changed twice within one of its ticks keeps one time,
    /// so a listing made that close to the folder's time is not trusted to be the last.</summary>
    private static readonly TimeSpan s_settle = TimeSpan.FromSeconds(1);

    /// <summary>The proposal sets as their files were (<see cref="Stamp"/>), and the one shown by image.</summary>
    private sealed record SetSummary(string? Requested, string Stamp, IReadOnlyList<ReviewState.SetView> Views, ProposalSet? Set,
        Dictionary<string, SampleProposal> ByImage, string[] Labels);

    /// <summary>The totals of one listing and one set summary, and the images with a pending box, in name order.</summary>
    private sealed record Counted(Listing Listing, SetSummary Sets, ReviewState.Totals Totals, string[] Pending);

    /// <summary>How many times the folder was listed (the cost that grows with the folder).</summary>
    public int Listings { get; private set; }

    /// <summary>How many times the proposal sets were read and counted (the cost that grows with the sets).</summary>
    public int SetReads { get; private set; }

    /// <summary>One page of the state, with the totals over every page.</summary>
    /// <param name="setId">The proposal set to show; null: the newest, if any.</param>
    /// <exception cref="PageException">The page starts past the last image.</exception>
    public ReviewState.State Get(string? setId, PageRequest page, bool canUndo)
    {
        ReviewState.Totals totals;
        string[] ids;
        SetSummary sets;
        int matching;
        lock (_lock)
        {
            var listing = CurrentListing();
            sets = CurrentSets(setId);
            var counted = _counted is { } c && ReferenceEquals(c.Listing, listing) && ReferenceEquals(c.Sets, sets) ? c : _counted = Count(listing, sets);
            totals = counted.Totals;
            var order = page.PendingOnly ? counted.Pending : listing.Ids;
            matching = order.Length;
            if (ReviewPaging.PastEnd(page, matching) is { } problem)
            {
                throw new PageException(problem, matching);
            }
            ids = order.AsSpan(page.Offset, Math.Min(page.Limit, matching - page.Offset)).ToArray();
        }
        var labels = CurrentLabels(ids);
        var images = ids.Select(id => ReviewState.ViewOf(id, labels[id].Boxes, sets.ByImage.GetValueOrDefault(id), sets.Set is not null)).ToArray();
        var names = sets.Labels.Concat(images.SelectMany(i => i.Labels.Select(l => l.Label))).Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal).ToArray();
        return ReviewState.Assemble(directory, sets.Views, sets.Set?.JobId, images, canUndo) with
        {
            Page = new ReviewState.PageView(page.Offset, page.Limit, page.PendingOnly ? "pending" : "all", matching),
            Totals = totals,
            Labels = names,
        };
    }

    /// <summary>After a change this server made: the sets are read again at the next request (their decisions and
    /// counts changed), whatever their files' times say.</summary>
    public void Refresh(IReadOnlyCollection<string> changed)
    {
        if (changed.Count == 0)
        {
            return;
        }
        lock (_lock)
        {
            _sets = null;
        }
    }

    private Listing CurrentListing()
    {
        // A folder's time changes with every name added, removed or renamed in it (a fold of the labels file too).
        var written = Directory.GetLastWriteTimeUtc(directory);
        if (_listing is { Settled: true } listing && listing.Written == written)
        {
            return listing;
        }
        Listings++;
        var images = LocalDataset.ListImages(directory);
        var ids = images.Select(s => s.Id).ToArray();
        return _listing = new Listing(written, DateTime.UtcNow - written > s_settle, ids, ids.ToHashSet(StringComparer.Ordinal));
    }

    private SetSummary CurrentSets(string? setId)
    {
        var stamp = Stamp();
        if (_sets is { } kept && kept.Requested == setId && kept.Stamp == stamp)
        {
            return kept;
        }
        SetReads++;
        var all = store.List();
        var set = ReviewState.Pick(all, setId);
        var byImage = new Dictionary<string, SampleProposal>(StringComparer.Ordinal);
        foreach (var sample in set?.Samples ?? [])
        {
            byImage[sample.SampleId] = sample; // a set names an image once; were it twice, the last, as before
        }
        var labels = byImage.Values.SelectMany(s => s.Detections.Select(d => d.Label)).Distinct(StringComparer.Ordinal).ToArray();
        return _sets = new SetSummary(setId, stamp, all.Select(ReviewState.SetViewOf).ToArray(), set, byImage, labels);
    }

    /// <summary>The totals over the folder's images (a set's proposals for images no longer there are not counted).</summary>
    private static Counted Count(Listing listing, SetSummary sets)
    {
        int withProposals = 0, pending = 0, accepted = 0, rejected = 0;
        var pendingImages = new List<string>();
        foreach (var (id, sample) in sets.ByImage)
        {
            if (!listing.Names.Contains(id))
            {
                continue;
            }
            withProposals += sample.Detections.Count > 0 ? 1 : 0;
            var waiting = 0;
            foreach (var d in sample.Detections)
            {
                _ = d.Decision switch
                {
                    ReviewDecision.Accepted => accepted++,
                    ReviewDecision.Rejected => rejected++,
                    _ => waiting++,
                };
            }
            pending += waiting;
            if (waiting > 0)
            {
                pendingImages.Add(id);
            }
        }
        pendingImages.Sort(StringComparer.Ordinal);
        return new Counted(listing, sets, new ReviewState.Totals(listing.Ids.Length, withProposals, pendingImages.Count, pending, accepted, rejected),
            [.. pendingImages]);
    }

    /// <summary>The images' labels as they are now: the labels file's entries (read where its index says) with the label
    /// journal's records on top (the review's own writes and a running job's, not yet folded). Read without the labels
    /// lock, journal first: a fold that lands between the two reads has put those records in the file, and a record
    /// applied to a sample it already left as it is changes nothing (<see cref="LabelJournal.Merge"/>); a record
    /// appended after the journal was read shows at the next request.</summary>
    private IReadOnlyDictionary<string, SampleLabels> CurrentLabels(string[] ids)
    {
        IReadOnlyList<IReadOnlyList<JournaledSample>> records = [];
        if (LabelJournal.HasPending(directory))
        {
            try
            {
                records = LabelJournal.Read(directory, out _);
            }
            catch (FileNotFoundException)
            {
                // Folded (and so in the file) since the test above.
            }
        }
        var file = LabelsFile.Read(Path.Combine(directory, LabelsFile.FileName), ids);
        if (records.Count == 0)
        {
            return file;
        }
        var journaled = records.SelectMany(r => r).ToLookup(s => s.Id, StringComparer.Ordinal);
        return ids.ToDictionary(id => id, id => LabelJournal.View(journaled[id], file[id]), StringComparer.Ordinal);
    }

    /// <summary>The proposal sets' times and sizes: what tells that someone wrote them.</summary>
    private string Stamp()
    {
        var folder = new DirectoryInfo(store.Folder);
        return !folder.Exists ? "-" : string.Join('|', folder.EnumerateFiles("*.json").OrderBy(f => f.Name, StringComparer.Ordinal)
            .Select(f => $"{f.Name}:{f.LastWriteTimeUtc.Ticks}:{f.Length}"));
    }
}

/// <summary>A state request for a page past the last image: the message says where the last page starts.</summary>
public sealed class PageException(string message, int matching) : Exception(message)
{
    /// <summary>The images the request's filter lets through now.</summary>
    public int Matching { get; } = matching;
}
