using Owlbox.Datasets.Local;

namespace Owlbox.Datasets.Formats;

/// <summary>Where an export may write. Even with <c>--force</c>: never a labels file (<c>bounding_boxes.labels</c>, of
/// this dataset or another) or anything under a <c>.owlbox</c> folder, whatever path or symbolic link leads there; never
/// an existing file in the dataset folder's top level (its images: <c>--out ds/x.jpg --force</c> would replace an
/// image); never over a symbolic link (dangling or not), a folder, or anything that is not a regular file (a device, a
/// named pipe: the write renames a temporary file over the target and would replace it). Names are compared ignoring
/// case, as a case-insensitive file system would. No existing file unless <c>--force</c>. Checked for every file before
/// the first is written.</summary>
public static class ExportTargets
{
    /// <param name="paths">Every file the export would write.</param>
    /// <param name="output">The <c>--out</c> the user gave, for the message.</param>
    /// <param name="datasetFolder">The dataset being exported, whose own files are never overwritten.</param>
    public static void Check(IEnumerable<string> paths, bool force, string output, string datasetFolder)
    {
        var dataset = CanonicalPath.Of(datasetFolder) ?? Path.GetFullPath(datasetFolder);
        var existing = new List<string>();
        foreach (var path in paths)
        {
            var resolved = Resolve(path);
            if (string.Equals(Path.GetFileName(resolved), LabelsFile.FileName, StringComparison.OrdinalIgnoreCase)
                || resolved.Split(Path.DirectorySeparatorChar).Contains(".owlbox", StringComparer.OrdinalIgnoreCase))
            {
                var via = resolved == Path.GetFullPath(path) ? "" : $" (a link to {resolved})";
                throw new DatasetException($"--out '{output}' would overwrite {path}{via}, a dataset's own file (its labels or .owlbox/); an export never writes there, even with --force: choose another path");
            }
            switch (FileKinds.Of(path))
            {
                case FileKind.Missing:
                    continue;
                case FileKind.SymbolicLink:
                    throw new DatasetException($"--out '{output}': {path} is a symbolic link; an export never writes over or through a link, even with --force: choose another path");
                case FileKind.Directory:
                    throw new DatasetException($"--out '{output}': {path} is a folder; an export writes a file there: choose another path");
                case FileKind.Other:
                    throw new DatasetException($"--out '{output}': {path} is not a regular file (a device, named pipe or socket); an export never replaces one, even with --force: choose another path");
            }
            if (string.Equals(Path.GetDirectoryName(resolved), dataset, StringComparison.OrdinalIgnoreCase))
            {
                throw new DatasetException($"--out '{output}' would overwrite {path}, a file of the dataset folder {datasetFolder} (an image or the dataset's own file); an export never does, even with --force: choose another path");
            }
            existing.Add(path);
        }
        if (existing.Count > 0 && !force)
        {
            var named = string.Join(", ", existing.Take(3)) + (existing.Count > 3 ? $" and {existing.Count - 3} more" : "");
            throw new DatasetException($"--out '{output}': {named} already exist{(existing.Count == 1 ? "s" : "")}; nothing was written. Add --force to overwrite, or choose another path");
        }
    }

    /// <summary>The file the operating system would write for <paramref name="path"/>: every link followed, through the
    /// nearest folder that exists when the file (or its folder) does not yet.</summary>
    private static string Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        var info = new FileInfo(full);
        try
        {
            if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } target)
            {
                full = target.FullName; // a dangling link too: writing through it would create its target
            }
        }
        catch (IOException e)
        {
            throw new DatasetException($"{path} is a symbolic link that cannot be followed ({e.Message}); choose another path");
        }
        if (CanonicalPath.Of(full) is { } canonical)
        {
            return canonical;
        }
        var rest = new Stack<string>();
        var at = full;
        while (Path.GetDirectoryName(at) is { } parent)
        {
            rest.Push(Path.GetFileName(at));
            if (CanonicalPath.Of(parent) is { } known)
            {
                return Path.Combine([known, .. rest]);
            }
            at = parent;
        }
        return full;
    }
}
