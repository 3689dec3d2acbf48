using Owlbox.Datasets.Local;

namespace Owlbox.Datasets.Formats;

/// <summary>Where an export may write: never a labels file (<c>bounding_boxes.labels</c>, of this dataset or another) or
/// anything under a <c>.owlbox</c> folder, whatever path or symbolic link leads there, even with <c>--force</c>; and no
/// existing file unless <c>--force</c>. Checked for every file before the first is written.</summary>
public static class ExportTargets
{
    /// <param name="paths">Every file the export would write.</param>
    /// <param name="output">The <c>--out</c> the user gave, for the message.</param>
    public static void Check(IEnumerable<string> paths, bool force, string output)
    {
        var existing = new List<string>();
        foreach (var path in paths)
        {
            var resolved = Resolve(path);
            if (Path.GetFileName(resolved) == LabelsFile.FileName
                || resolved.Split(Path.DirectorySeparatorChar).Contains(".owlbox", StringComparer.Ordinal))
            {
                var via = resolved == Path.GetFullPath(path) ? "" : $" (a link to {resolved})";
                throw new DatasetException($"--out '{output}' would overwrite {path}{via}, a dataset's own file (its labels or .owlbox/); an export never writes there, even with --force: choose another path");
            }
            if (File.Exists(path) || new FileInfo(path).LinkTarget is not null)
            {
                existing.Add(path);
            }
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
