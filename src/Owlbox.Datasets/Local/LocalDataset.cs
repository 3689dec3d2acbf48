namespace Owlbox.Datasets.Local;

/// <summary>A folder of images with an optional <c>bounding_boxes.labels</c> beside them.</summary>
public sealed class LocalDataset
{
    private static readonly HashSet<string> s_imageExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        ".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp",
    };

    private LocalDataset(string directory, IReadOnlyList<LocalSample> samples)
    {
        Directory = directory;
        Samples = samples;
    }

    public string Directory { get; }
    public IReadOnlyList<LocalSample> Samples { get; }

    public string LabelsPath => Path.Combine(Directory, LabelsFile.FileName);

    /// <summary>Lists the folder's images, folds a pending label journal (what a killed process journaled, or a job
    /// still running) and checks the labels file whole, streamed (nothing of it held): an invalid file stops here, with
    /// its reason.</summary>
    public static LocalDataset Open(string directory)
    {
        var dataset = List(directory);
        LabelJournal.FoldPending(directory);
        LabelsFile.Check(dataset.LabelsPath);
        return dataset;
    }

    /// <summary>Lists the folder's images by name, without reading the labels file (a job's expansion needs only the
    /// names; the writer reads each sample's labels when it writes).</summary>
    public static LocalDataset List(string directory)
    {
        CheckFolder(directory);
        return new LocalDataset(directory, ListImages(directory));
    }

    /// <summary>The folder's images, by file name, without reading the labels file.</summary>
    public static LocalSample[] ListImages(string directory) =>
        System.IO.Directory.EnumerateFiles(directory)
            .Where(f => s_imageExtensions.Contains(Path.GetExtension(f)))
            .Select(f => new LocalSample(Path.GetFileName(f), Path.GetFullPath(f)))
            .OrderBy(s => s.Id, StringComparer.Ordinal)
            .ToArray();

    /// <summary>Every sample's labels as the file holds them now, read and checked whole (<see cref="LabelsFile.Load"/>):
    /// for the commands that need them all at once (eval, calibrate, export, the review page).</summary>
    public LabelsFile ReadLabels()
    {
        LabelJournal.FoldPending(Directory); // a job's writes still journaled (running, or killed) are the labels too
        return LabelsFile.Load(LabelsPath);
    }

    /// <summary>Whether <paramref name="sampleId"/> names an image of the folder as <see cref="Open"/> lists them: a file
    /// name (no folder part), an image extension, a file there. Writers refuse anything else, so the labels file never
    /// gets an entry for an image the dataset does not have.</summary>
    public static bool HasImage(string directory, string sampleId) =>
        sampleId.Length > 0 && sampleId == Path.GetFileName(sampleId) && sampleId is not ("." or "..")
        && sampleId.IndexOfAny(['/', '\\', '\0']) < 0
        && s_imageExtensions.Contains(Path.GetExtension(sampleId))
        && File.Exists(Path.Combine(directory, sampleId));

    /// <summary>The dataset must be an existing folder Owlbox can write in (labels, <c>.owlbox/</c>); it is never created.</summary>
    public static void CheckFolder(string directory)
    {
        if (File.Exists(directory))
        {
            throw new DatasetException($"dataset '{directory}' is a file; give the folder that holds the images");
        }
        if (!System.IO.Directory.Exists(directory))
        {
            throw new DatasetException($"dataset folder '{directory}' does not exist");
        }
        var probe = Path.Combine(directory, $".owlbox-write-check-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (File.Create(probe, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException($"dataset folder '{directory}' is not writable ({e.Message}); Owlbox writes its labels file and .owlbox/ there");
        }
    }

    /// <summary>Resolves ids (file names or stems) in the order given; ids that match nothing, or more than one
    /// file, are returned with the reason so the job can report them as failed samples.</summary>
    public (IReadOnlyList<LocalSample> Found, IReadOnlyList<(string Id, string Problem)> Missing) Select(IReadOnlyList<string>? ids) =>
        Select(Samples, ids);

    /// <inheritdoc cref="Select(IReadOnlyList{string}?)"/>
    public static (IReadOnlyList<LocalSample> Found, IReadOnlyList<(string Id, string Problem)> Missing) Select(IReadOnlyList<LocalSample> samples,
        IReadOnlyList<string>? ids)
    {
        if (ids is null)
        {
            return (samples, []);
        }
        // One pass to index the folder, one over the ids: O(ids + images), whatever either count.
        var byName = samples.ToDictionary(s => s.Id, StringComparer.Ordinal);
        var byStem = samples.ToLookup(s => Path.GetFileNameWithoutExtension(s.Id), StringComparer.Ordinal);
        var found = new List<LocalSample>();
        var missing = new List<(string, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            LocalSample[] matches = byName.TryGetValue(id, out var exact) ? [exact] : [.. byStem[id]];
            switch (matches.Length)
            {
                case 0:
                    missing.Add((id, $"no image named '{LocalDatasetAccess.Shorten(id, 100)}' in the dataset"));
                    break;
                case > 1:
                    missing.Add((id, $"id '{id}' matches {string.Join(" and ", matches.Select(m => m.Id))}; name the file"));
                    break;
                default:
                    if (seen.Add(matches[0].Id))
                    {
                        found.Add(matches[0]);
                    }
                    break;
            }
        }
        return (found, missing);
    }
}
