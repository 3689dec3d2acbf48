using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;

namespace Owlbox.Cli.Review;

/// <summary>
/// The page's state kept between requests, so a request costs what changed, not the dataset. It is reused while the
/// files are as it last saw them (the images listed, the labels file and the proposal sets: time and size), and after
/// a change this server made (<see cref="Refresh"/>) only the images that change touched are rebuilt: their labels
/// read from the file (streamed, those samples only) and their proposals judged again. Anything else that moved
/// (a job writing, another program saving the labels, a set added) rebuilds it all, as every request did before.
/// </summary>
public sealed class ReviewStateCache(string directory, ProposalStore store)
{
    private readonly Lock _lock = new();
    private Snapshot? _last;

    /// <summary>What the state was built from and the views built.</summary>
    private sealed record Snapshot(string? RequestedSet, string? Set, string Stamp, string[] Ids, Dictionary<string, ReviewState.ImageView> Views,
        IReadOnlyList<ReviewState.SetView> Sets);

    /// <summary>The images the page shows: their paths by name (a thumbnail request is a lookup, not a folder scan).</summary>
    public IReadOnlyDictionary<string, string> ImagePaths { get; private set; } =
        LocalDataset.ListImages(directory).ToDictionary(s => s.Id, s => s.FullPath, StringComparer.Ordinal);

    /// <summary>How many times the state was built whole (the costly path).</summary>
    public int Rebuilds { get; private set; }

    public ReviewState.State Get(string? setId, bool canUndo)
    {
        lock (_lock)
        {
            LabelJournal.FoldPending(directory); // a job's writes still journaled are shown, and in the file
            var images = LocalDataset.ListImages(directory);
            var ids = images.Select(s => s.Id).ToArray();
            var stamp = Stamp();
            if (_last is not { } last || last.RequestedSet != setId || last.Stamp != stamp || !last.Ids.SequenceEqual(ids, StringComparer.Ordinal))
            {
                Rebuilds++;
                var dataset = LocalDataset.Open(directory);
                var labelsFile = dataset.ReadLabels();
                var sets = store.List();
                var set = ReviewState.Pick(sets, setId);
                var byImage = set?.Samples.ToDictionary(s => s.SampleId, StringComparer.Ordinal) ?? [];
                var views = dataset.Samples.ToDictionary(s => s.Id,
                    s => ReviewState.ViewOf(s.Id, labelsFile.GetBoxes(s.Id), byImage.GetValueOrDefault(s.Id), set is not null), StringComparer.Ordinal);
                last = _last = new Snapshot(setId, set?.JobId, Stamp(), dataset.Samples.Select(s => s.Id).ToArray(), views,
                    sets.Select(ReviewState.SetViewOf).ToArray());
                ImagePaths = dataset.Samples.ToDictionary(s => s.Id, s => s.FullPath, StringComparer.Ordinal);
            }
            return ReviewState.Assemble(directory, last.Sets, last.Set, last.Ids.Select(id => last.Views[id]).ToArray(), canUndo);
        }
    }

    /// <summary>After a change this server made: the images it touched are rebuilt, the rest kept.</summary>
    public void Refresh(IReadOnlyCollection<string> changed)
    {
        lock (_lock)
        {
            if (_last is not { } last)
            {
                return;
            }
            var sets = store.List();
            var set = last.Set is null ? null : sets.FirstOrDefault(s => s.JobId == last.Set);
            if ((last.Set is null) != (set is null))
            {
                _last = null; // the set went (or came): rebuilt whole at the next request
                return;
            }
            var touched = changed.Where(last.Views.ContainsKey).ToArray();
            var labels = LabelsFile.Read(Path.Combine(directory, LabelsFile.FileName), touched);
            foreach (var id in touched)
            {
                last.Views[id] = ReviewState.ViewOf(id, labels[id].Boxes, set?.Samples.Find(s => s.SampleId == id), set is not null);
            }
            _last = last with { Stamp = Stamp(), Sets = sets.Select(ReviewState.SetViewOf).ToArray() };
        }
    }

    /// <summary>The labels file's and the proposal sets' times and sizes: what tells that someone wrote them.</summary>
    private string Stamp()
    {
        var parts = new List<string>();
        var labels = new FileInfo(Path.Combine(directory, LabelsFile.FileName));
        parts.Add(labels.Exists ? $"{labels.LastWriteTimeUtc.Ticks}:{labels.Length}" : "-");
        var folder = new DirectoryInfo(store.Folder);
        if (folder.Exists)
        {
            parts.AddRange(folder.EnumerateFiles("*.json").OrderBy(f => f.Name, StringComparer.Ordinal)
                .Select(f => $"{f.Name}:{f.LastWriteTimeUtc.Ticks}:{f.Length}"));
        }
        return string.Join('|', parts);
    }
}
