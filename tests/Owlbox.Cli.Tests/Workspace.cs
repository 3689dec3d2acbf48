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
    public static string Owlv2Model => Path.Combine(RepoRoot, "models", "owlv2-test");
    public static string PromptFile => Path.Combine(RepoRoot, "samples", "prompt.txt");

    public string Root { get; }
    public string Dataset { get; }
    public string LabelsPath => Path.Combine(Dataset, LabelsFile.FileName);

    public string Write(string name, string content)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllText(path, content);
        return path;
    }

    public static Task<(int Exit, string Out, string Err)> RunAsync(params string[] args) => RunAsync(CancellationToken.None, args);

    public static async Task<(int Exit, string Out, string Err)> RunAsync(CancellationToken cancellationToken, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await OwlboxCli.RunAsync(args, stdout, stderr, cancellationToken);
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
