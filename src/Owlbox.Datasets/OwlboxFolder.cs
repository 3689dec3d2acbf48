namespace Owlbox.Datasets;

/// <summary>
/// Owlbox's own folder in a dataset, <c>.owlbox/</c>, and the one rule for everything under it: it is never reached
/// through a symbolic link (or a junction). A link there would send Owlbox's writes out of the dataset (encodings
/// filling another disk, a job store in someone else's folder) and its folder walks round link loops. Every component
/// from the dataset folder down is checked; the dataset folder itself may be a link (the user named it).
/// </summary>
public static class OwlboxFolder
{
    public const string Name = ".owlbox";

    /// <summary><c>dataset/.owlbox/parts…</c> when no component of it is a link (those that do not exist yet are
    /// fine: they are created as real folders) and none that must be a folder is a file; null and the reason, naming
    /// the link or the file, when one is.</summary>
    /// <param name="parts">Single names below <c>.owlbox</c>, e.g. <c>embeddings</c>.</param>
    public static string? TryPathOf(string dataset, out string? problem, params string[] parts)
    {
        foreach (var part in parts)
        {
            if (part.Length == 0 || part is "." or ".." || part.AsSpan().IndexOfAny('/', Path.DirectorySeparatorChar) >= 0)
            {
                throw new ArgumentException($"'{part}' is not a single folder or file name", nameof(parts));
            }
        }
        if (FirstLink(dataset, [Name, .. parts]) is { } link)
        {
            problem = $"'{link}' is a symbolic link; Owlbox never reaches anything under {Name}/ through a link (it could lead out of the dataset)";
            return null;
        }
        if (FirstFileForFolder(dataset, [Name, .. parts.Length > 0 ? parts[..^1] : []]) is { } file)
        {
            problem = $"'{file}' is a file where Owlbox keeps a folder (its job store, caches and proposals are under {Name}/); move that file away";
            return null;
        }
        problem = null;
        return Path.Combine([dataset, Name, .. parts]);
    }

    /// <summary>As <see cref="TryPathOf"/>, throwing <see cref="DatasetException"/> for a link or a file in a folder's place.</summary>
    public static string PathOf(string dataset, params string[] parts) =>
        TryPathOf(dataset, out var problem, parts) ?? throw new DatasetException(problem!);

    /// <summary>The first of <c>root/c0</c>, <c>root/c0/c1</c>, … that is a symbolic link or a junction (dangling or
    /// not); null when none is. <paramref name="root"/> itself is not checked. Components that do not exist are not
    /// links.</summary>
    public static string? FirstLink(string root, params ReadOnlySpan<string> components)
    {
        var path = root;
        foreach (var component in components)
        {
            path = Path.Combine(path, component);
            if (IsLink(path))
            {
                return path;
            }
        }
        return null;
    }

    /// <summary>The first of <c>root/c0</c>, <c>root/c0/c1</c>, … that exists and is not a folder; null when none is.</summary>
    private static string? FirstFileForFolder(string root, params ReadOnlySpan<string> components)
    {
        var path = root;
        foreach (var component in components)
        {
            path = Path.Combine(path, component);
            if (Path.Exists(path) && !Directory.Exists(path))
            {
                return path;
            }
        }
        return null;
    }

    /// <summary>Whether the path itself (not what it leads to) is a link. Missing or unreadable: not a link.</summary>
    public static bool IsLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget is not null; // the link itself (readlink), files and folders alike
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
