using System.Diagnostics;
using Owlbox.ModelTool;

namespace Owlbox.Cli.Tests;

/// <summary><c>owlbox label</c> keeps a split-form model's image encodings in the dataset's <c>.owlbox/embeddings</c>;
/// a second process with another prompt reads them (each file touched, none written again) and labels as a run
/// without them does. The folder is only a cache: reached through a link, or impossible to create, it is left out
/// with one warning and the job labels every image as a run without it does.</summary>
public sealed class EmbeddingCacheCommandTests : IDisposable
{
    private readonly Workspace _ws = new();
    private readonly Workspace _fresh = new();
    private readonly string _model = Path.Combine(Directory.CreateTempSubdirectory("owlbox-split-model-").FullName, "tiny-owlv2");

    public EmbeddingCacheCommandTests() => FullSizeModels.Write(OwlArchitecture.Tiny("owlv2"), _model);

    public void Dispose()
    {
        _ws.Dispose();
        _fresh.Dispose();
        Directory.Delete(Path.GetDirectoryName(_model)!, recursive: true);
    }

    private static async Task<string> LabelInANewProcessAsync(string dataset, string model, string prompt, params string[] extra) =>
        (await LabelWithWarningsAsync(dataset, model, prompt, extra)).Out;

    private static async Task<(string Out, string Err)> LabelWithWarningsAsync(string dataset, string model, string prompt, params string[] extra)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Workspace.OwlboxDll, "label", dataset, "--model", model, "--prompt", prompt, "--score-floor", "0" }.Concat(extra))
        {
            info.ArgumentList.Add(a);
        }
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == OwlboxCli.Ok, await output + error);
        return (await output, error);
    }

    [Fact]
    public async Task ASecondProcessWithANewPrompt_ReadsTheEncodingsFromDisk_AndLabelsAsAFreshRun()
    {
        await LabelInANewProcessAsync(_ws.Dataset, _model, "red (red, 0.3)");
        var folder = Path.Combine(_ws.Dataset, ".owlbox", "embeddings");
        var files = Directory.GetFiles(folder, "*.emb", SearchOption.AllDirectories);
        Assert.Equal(_ws.Images.Count, files.Length); // one encoding per image
        // Set back an hour, so a read (which touches its file) shows whatever the clock's resolution, with no wait.
        foreach (var f in files)
        {
            File.SetLastWriteTimeUtc(f, File.GetLastWriteTimeUtc(f) - TimeSpan.FromHours(1));
        }
        var written = files.ToDictionary(f => f, File.GetLastWriteTimeUtc);
        var sizes = files.ToDictionary(f => f, f => new FileInfo(f).Length);

        const string newPrompt = "a green block (green, 0.3)\nyellow thing (yellow, 0.3)\na person (person, 0.3)";
        await LabelInANewProcessAsync(_ws.Dataset, _model, newPrompt);
        await LabelInANewProcessAsync(_fresh.Dataset, _model, "red (red, 0.3)", "--no-embedding-cache");
        await LabelInANewProcessAsync(_fresh.Dataset, _model, newPrompt, "--no-embedding-cache");

        Assert.Equal(files.Order(), Directory.GetFiles(folder, "*.emb", SearchOption.AllDirectories).Order()); // nothing new encoded
        Assert.All(files, f => Assert.True(File.GetLastWriteTimeUtc(f) > written[f], $"{f} was read (a hit touches its file)"));
        Assert.All(files, f => Assert.Equal(sizes[f], new FileInfo(f).Length));
        Assert.False(Directory.Exists(Path.Combine(_fresh.Dataset, ".owlbox", "embeddings")));
        Assert.Equal(_fresh.Boxes(), _ws.Boxes());
    }

    [Fact]
    public async Task AnEmbeddingsFolderThatIsALink_IsNotWrittenThrough_AndTheJobLabelsEveryImage()
    {
        var outside = Directory.CreateDirectory(Path.Combine(_ws.Root, "outside")).FullName;
        var link = Path.Combine(Directory.CreateDirectory(Path.Combine(_ws.Dataset, ".owlbox")).FullName, "embeddings");
        Directory.CreateSymbolicLink(link, outside);

        var (output, error) = await LabelWithWarningsAsync(_ws.Dataset, _model, "red (red, 0.3)");
        await LabelInANewProcessAsync(_fresh.Dataset, _model, "red (red, 0.3)", "--no-embedding-cache");

        Assert.Empty(Directory.GetFileSystemEntries(outside));
        var warning = Assert.Single(error.Split('\n'), l => l.Contains("warning", StringComparison.Ordinal));
        Assert.Contains(link, warning, StringComparison.Ordinal);
        Assert.Equal(_fresh.Boxes(), _ws.Boxes());
        Assert.Contains($"{_ws.Images.Count} of {_ws.Images.Count}", output, StringComparison.Ordinal);
    }

    /// <summary>Root-proof (chmod does not stop root): a regular file where the folder should be.</summary>
    [Fact]
    public async Task AnEmbeddingsFolderThatCannotBeMade_CostsTheCacheOnly_WithOneWarning()
    {
        Directory.CreateDirectory(Path.Combine(_ws.Dataset, ".owlbox"));
        var blocked = Path.Combine(_ws.Dataset, ".owlbox", "embeddings");
        File.WriteAllText(blocked, "in the way");

        var (output, error) = await LabelWithWarningsAsync(_ws.Dataset, _model, "red (red, 0.3)");
        await LabelInANewProcessAsync(_fresh.Dataset, _model, "red (red, 0.3)", "--no-embedding-cache");

        Assert.Equal("in the way", File.ReadAllText(blocked));
        Assert.Equal(_fresh.Boxes(), _ws.Boxes());
        var all = output + error;
        Assert.Equal(1, all.Split('\n').Count(l => l.Contains("could not write", StringComparison.Ordinal)));
        Assert.Contains(blocked, all, StringComparison.Ordinal);
    }
}
