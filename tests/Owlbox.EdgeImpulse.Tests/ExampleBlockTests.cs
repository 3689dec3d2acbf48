using System.Text.Json;
using Owlbox.Cli;
using Owlbox.Labeling.Boxes;

namespace Owlbox.EdgeImpulse.Tests;

/// <summary><c>owlbox block</c> with an example line (<c>[label]</c>): the examples are the project's boxes of that
/// label on any sample (not only those the block labels), read as Studio returns them.</summary>
public sealed class ExampleBlockTests : IDisposable
{
    private static readonly JsonSerializerOptions s_web = new(JsonSerializerDefaults.Web);
    private readonly string _model = Directory.CreateTempSubdirectory("owlbox-ei-examples-model-").FullName;

    public void Dispose() => Directory.Delete(_model, recursive: true);

    private async Task<string> PreparedModelAsync()
    {
        var source = Path.Combine(Emulator.RepoRoot, "models", "owlv2-test");
        foreach (var f in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(_model, Path.GetRelativePath(source, f));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(f, to);
        }
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await OwlboxCli.RunAsync(["models", "prepare", _model], output, error, null, CancellationToken.None);
        Assert.True(exit == OwlboxCli.Ok, output + error.ToString());
        return _model;
    }

    private static Dictionary<string, List<LabeledBox>> GroundTruth() =>
        JsonSerializer.Deserialize<Dictionary<string, List<LabeledBox>>>(
            File.ReadAllText(Path.Combine(Emulator.RepoRoot, "samples", "shapes-ground-truth.json")), s_web)!;

    [Fact]
    public async Task TheProjectsBoxesOfTheLabel_OnSamplesTheBlockDoesNotLabel_AreTheExamples()
    {
        var model = await PreparedModelAsync();
        await using var ei = await Emulator.StartAsync();
        var truth = GroundTruth();
        // A hand box labelled "thing" on the red square of a sample the block is not run on.
        const string exampleFile = "busy-800x450.jpg";
        var red = truth[exampleFile].Single(b => b.Label == "red");
        await ei.Client.SetBoundingBoxesAsync(1, Emulator.Ids[exampleFile], [new("thing", red.X, red.Y, red.Width, red.Height)], default);
        var labelled = Emulator.Ids.Where(kv => kv.Key != exampleFile).ToArray();

        var (exit, output, err) = await ei.RunBlockAsync(["--prompt", "[thing] (thing, 0.5)"], labelled.Select(kv => (long)kv.Value), model: model);

        Assert.True(exit == OwlboxCli.Ok, output + err);
        var found = 0;
        foreach (var (file, id) in labelled)
        {
            var things = (await ei.SampleAsync(id)).BoundingBoxes.Where(b => b.Label == "thing").Select(b => new PixelBox(b.X, b.Y, b.Width, b.Height)).ToArray();
            var reds = truth[file].Where(b => b.Label == "red").Select(b => b.Box).ToArray();
            // Every thing box is on a red square; nothing else is taken for one.
            Assert.All(things, t => Assert.Contains(reds, r => r.IoU(t) >= 0.5));
            found += things.Length;
        }
        Assert.True(found > 0, "no red square found by the example");
        Assert.Equal([new("thing", red.X, red.Y, red.Width, red.Height)],
            (await ei.SampleAsync(Emulator.Ids[exampleFile])).BoundingBoxes.Select(b => new LabeledBox(b.Label, b.X, b.Y, b.Width, b.Height)));
    }

    [Fact]
    public async Task AnExampleLineWithNoBoxInTheProject_Exits1_NamingTheLine()
    {
        var model = await PreparedModelAsync();
        await using var ei = await Emulator.StartAsync();

        var (exit, output, err) = await ei.RunBlockAsync(["--prompt", "red (red, 0.5)\\n[thing]"], model: model);

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains("prompt line 2 \"[thing]\": no box labelled 'thing'", output + err, StringComparison.Ordinal);
    }
}
