using System.Text.Json;
using Owlbox.Cli;
using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Cli.Tests;

/// <summary>A fresh copy of the bundled sample dataset per test, and the CLI run in-process against it.</summary>
public sealed class Workspace : IDisposable
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    public Workspace()
    {
        Root = Directory.CreateTempSubdirectory("owlbox-test-").FullName;
        Dataset = Path.Combine(Root, "shapes");
        Directory.CreateDirectory(Dataset);
        foreach (var file in Directory.GetFiles(Path.Combine(RepoRoot, "samples", "shapes")))
        {
            File.Copy(file, Path.Combine(Dataset, Path.GetFileName(file)));
        }
    }

    public static string RepoRoot => Owlbox.ModelTool.RepoPaths.Root;

    /// <summary>The owlbox binary of this build configuration, for tests that need a real process (kill -9).</summary>
    public static string OwlboxDll => Path.Combine(RepoRoot, "app", "Owlbox.Cli", "bin",
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug",
        "net10.0", "owlbox.dll");
    public static string Owlv2Model => Path.Combine(RepoRoot, "models", "owlv2-test");
    public static string PromptFile => Path.Combine(RepoRoot, "samples", "prompt.txt");

    public string Root { get; }
    public string Dataset { get; }
    public string LabelsPath => Path.Combine(Dataset, LabelsFile.FileName);

    /// <summary>Adds <paramref name="copies"/> copies of each bundled image under new names: a job long enough to
    /// interrupt or to run beside another.</summary>
    public Workspace WithCopies(int copies)
    {
        var images = Directory.GetFiles(Dataset).Where(f => !f.EndsWith(LabelsFile.FileName, StringComparison.Ordinal)).ToArray();
        for (var i = 0; i < copies; i++)
        {
            foreach (var image in images)
            {
                File.Copy(image, Path.Combine(Dataset, $"copy{i:D3}-{Path.GetFileName(image)}"));
            }
        }
        return this;
    }

    public IReadOnlyList<string> Images => Directory.GetFiles(Dataset)
        .Select(Path.GetFileName).Where(f => f != LabelsFile.FileName && !f!.StartsWith('.')).Order(StringComparer.Ordinal).ToArray()!;

    /// <summary>Every image's boxes (sorted, so runs that wrote in another order compare equal) and metadata.</summary>
    public string Snapshot()
    {
        var labels = LabelsFile.Load(LabelsPath);
        return string.Join("\n", Images.Select(i =>
            $"{i}: {string.Join(" ", labels.GetBoxes(i).Select(b => $"{b.Label}@{b.X},{b.Y},{b.Width},{b.Height}").Order(StringComparer.Ordinal))}"
            + $" | {string.Join(" ", (labels.GetMetadata(i) ?? new Dictionary<string, string>()).Select(kv => $"{kv.Key}={kv.Value}").Order(StringComparer.Ordinal))}"));
    }

    /// <summary>Every image's boxes only, sorted (no metadata: a prompt in it spans lines).</summary>
    public string Boxes()
    {
        var labels = LabelsFile.Load(LabelsPath);
        return string.Join("\n", Images.Select(i => $"{i}: {string.Join(" ", labels.GetBoxes(i).Select(b => $"{b.Label}@{b.X},{b.Y},{b.Width},{b.Height}").Order(StringComparer.Ordinal))}"));
    }

    public string Write(string name, string content)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllText(path, content);
        return path;
    }

    public static Task<(int Exit, string Out, string Err)> RunAsync(params string[] args) => RunAsync(CancellationToken.None, args);

    public static Task<(int Exit, string Out, string Err)> RunAsync(CancellationToken cancellationToken, params string[] args) =>
        RunAsync(null, cancellationToken, args);

    /// <param name="busTap">Extra bus registrations: a test's own handler of the job's events.</param>
    public static async Task<(int Exit, string Out, string Err)> RunAsync(Action<MassTransit.IBusRegistrationConfigurator>? busTap,
        CancellationToken cancellationToken, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await OwlboxCli.RunAsync(args, stdout, stderr, busTap, cancellationToken);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>The usual labeling command over this workspace's dataset, plus extra arguments.</summary>
    public Task<(int Exit, string Out, string Err)> LabelAsync(params string[] extra) =>
        RunAsync(["label", Dataset, "--model", Owlv2Model, "--prompt-file", PromptFile, "--execution-provider", "cpu", .. extra]);

    public IReadOnlyList<LabeledBox> Boxes(string file) => LabelsFile.Load(LabelsPath).GetBoxes(file);

    public static Dictionary<string, List<LabeledBox>> GroundTruth()
    {
        var json = File.ReadAllText(Path.Combine(RepoRoot, "samples", "shapes-ground-truth.json"));
        return JsonSerializer.Deserialize<Dictionary<string, List<LabeledBox>>>(json, s_json)!;
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
