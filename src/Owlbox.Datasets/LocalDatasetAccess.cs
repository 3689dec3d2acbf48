namespace Owlbox.Datasets;

/// <summary>
/// Which server folders a job may name as a local dataset: only folders inside the configured roots, judged on the
/// canonical path (symbolic links followed), so neither <c>..</c> nor a link can lead a job, or a file inside the
/// dataset, out of them. A deployment with no roots serves no local datasets; the one-process CLI uses
/// <see cref="AnyFolder"/> for the folder on its own command line. Every process of a deployment applies the same rule.
/// </summary>
public sealed class LocalDatasetAccess
{
    public static readonly LocalDatasetAccess AnyFolder = new([], anyFolder: true);

    private readonly string[] _roots;
    private readonly bool _anyFolder;

    public LocalDatasetAccess(IEnumerable<string> roots, bool anyFolder = false)
    {
        _anyFolder = anyFolder;
        _roots = roots.Where(r => !string.IsNullOrWhiteSpace(r))
            .Select(r => CanonicalPath.Of(r) ?? throw new DatasetException($"dataset root '{r}' does not exist"))
            .ToArray();
    }

    /// <summary>The dataset folder a job's location names, canonical. A folder that is missing and one outside the
    /// roots get the same answer, so a client cannot probe the server's file system.</summary>
    public string Resolve(string location)
    {
        if (_anyFolder)
        {
            return Path.GetFullPath(location);
        }
        if (_roots.Length == 0)
        {
            throw new DatasetException("this deployment serves no local datasets (no dataset roots are configured: Owlbox:Datasets:LocalRoots)");
        }
        if (!Path.IsPathFullyQualified(location))
        {
            throw new DatasetException($"a local dataset location must be an absolute path inside a dataset root, got '{Shorten(location)}'");
        }
        var canonical = CanonicalPath.Of(location);
        return canonical is not null && Directory.Exists(canonical) && IsInside(canonical)
            ? canonical
            : throw NotAvailable(location);
    }

    /// <summary>Checks a path inside a dataset (the labels file, an image, <c>.owlbox/</c>) where it really leads:
    /// a symbolic link out of the roots is refused, and nothing is read or written through it.</summary>
    public void RequireInside(string path)
    {
        if (_anyFolder)
        {
            return;
        }
        if (CanonicalPath.Of(path) is { } canonical && !IsInside(canonical))
        {
            throw new DatasetException($"'{Path.GetFileName(path)}' leads out of the dataset roots (a symbolic link?); Owlbox will not follow it");
        }
    }

    private bool IsInside(string canonical) => _roots.Any(root =>
        canonical == root || canonical.StartsWith(root.EndsWith('/') ? root : root + "/", StringComparison.Ordinal));

    private static DatasetException NotAvailable(string location) =>
        new($"dataset '{Shorten(location)}' is not available: give an existing folder inside this deployment's dataset roots");

    /// <summary>Client-supplied text in an error, cut short: an answer never echoes a large request back.</summary>
    public static string Shorten(string text, int max = 200) => text.Length <= max ? text : text[..max] + "…";
}
