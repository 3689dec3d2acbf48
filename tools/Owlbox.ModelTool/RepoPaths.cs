namespace Owlbox.ModelTool;

/// <summary>The repository's root (the folder holding Owlbox.slnx), found from the running assembly: where tests
/// and the benchmark find the committed models, samples and manifests.</summary>
public static class RepoPaths
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Owlbox.slnx")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository root (Owlbox.slnx)");
    }
}
