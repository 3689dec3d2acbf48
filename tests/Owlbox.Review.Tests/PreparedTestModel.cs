using Owlbox.Cli;

namespace Owlbox.Review.Tests;

/// <summary>A copy of the bundled OWLv2 test model, prepared (example queries, and so "find more like this", need the
/// prepared form); made once per test class.</summary>
public sealed class PreparedTestModel : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("owlbox-review-model-").FullName;

    public PreparedTestModel()
    {
        var source = Path.Combine(Owlbox.ModelTool.RepoPaths.Root, "models", "owlv2-test");
        Model = Path.Combine(_root, "owlv2-test");
        foreach (var f in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(Model, Path.GetRelativePath(source, f));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(f, to);
        }
        using var output = new StringWriter();
        if (OwlboxCli.RunAsync(["models", "prepare", Model], output, output).GetAwaiter().GetResult() != OwlboxCli.Ok)
        {
            throw new InvalidOperationException("models prepare failed: " + output);
        }
    }

    public string Model { get; }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
