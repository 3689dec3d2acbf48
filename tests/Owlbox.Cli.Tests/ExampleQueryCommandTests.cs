using System.Text.Json.Nodes;
using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;
using Owlbox.ModelTool;
using SkiaSharp;

namespace Owlbox.Cli.Tests;

/// <summary>The bundled OWLv2 test model, copied and prepared once for the class (example queries need the prepared
/// form), and the unprepared original.</summary>
public sealed class PreparedOwlv2Fixture : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("owlbox-examples-model-").FullName;

    public PreparedOwlv2Fixture()
    {
        var source = Workspace.Owlv2Model;
        Model = Path.Combine(_root, "owlv2-test");
        foreach (var f in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(Model, Path.GetRelativePath(source, f));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(f, to);
        }
        var (exit, output, error) = Workspace.RunAsync("models", "prepare", Model).GetAwaiter().GetResult();
        if (exit != OwlboxCli.Ok)
        {
            throw new InvalidOperationException("models prepare failed: " + output + error);
        }
    }

    public string Model { get; }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}

/// <summary>Issue 26's acceptance: hand boxes labelled <c>thing</c> (a word the test model's text tower cannot
/// resolve) on red squares are the queries of <c>[thing]</c>; the job finds the red squares on the other images of a
/// generated set and no blue square. Setup errors exit 1 naming the line or the box, with the labels untouched.</summary>
public sealed class ExampleQueryCommandTests(PreparedOwlv2Fixture model) : IClassFixture<PreparedOwlv2Fixture>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("owlbox-examples-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private (string Folder, Dictionary<string, (PixelBox Red, PixelBox Blue)> Truth) Dataset(string name, string? handLabel, Func<PixelBox, PixelBox>? handBox = null) =>
        ExampleScenes.Write(Directory.CreateDirectory(Path.Combine(_root, name)).FullName, handLabel, handBox);

    private static Task<(int Exit, string Out, string Err)> Label(string folder, string modelDir, string prompt, params string[] extra) =>
        Workspace.RunAsync(["label", folder, "--model", modelDir, "--prompt", prompt, "--execution-provider", "cpu", .. extra]);

    private static IReadOnlyList<LabeledBox> Boxes(string folder, string file) => LabelsFile.Load(Path.Combine(folder, LabelsFile.FileName)).GetBoxes(file);

    [Fact]
    public async Task ThreeHandBoxesOnRedSquares_FindTheRedSquaresOnTheOtherImages_AndNoBlueSquare()
    {
        var (folder, truth) = Dataset("shapes", "thing");

        var (exit, output, error) = await Label(folder, model.Model, "[thing] (thing, 0.5)");

        Assert.True(exit == OwlboxCli.Ok, output + error);
        foreach (var (file, (red, blue)) in truth)
        {
            var things = Boxes(folder, file).Where(b => b.Label == "thing").Select(b => b.Box).ToArray();
            // The other images: exactly their red square. The example images: their hand box, not doubled.
            Assert.True(things.Length == 1 && things[0] == red, $"{file}: thing boxes {string.Join(" ", things)}, red square {red}");
            Assert.DoesNotContain(things, t => t.IoU(blue) > 0);
        }
    }

    [Fact]
    public async Task TheSameWordAsText_FindsNothing_SoTheExamplesAreWhatFinds()
    {
        var (folder, truth) = Dataset("shapes", "thing");

        var (exit, output, error) = await Label(folder, model.Model, "thing (thing, 0.5)");

        Assert.True(exit == OwlboxCli.Ok, output + error);
        foreach (var file in truth.Keys.Skip(3))
        {
            Assert.Empty(Boxes(folder, file));
        }
    }

    [Fact]
    public async Task ExamplesFromAnotherDataset_FindTheRedSquaresHere()
    {
        var (examples, _) = Dataset("examples", "thing");
        var (folder, truth) = Dataset("unlabelled", null);

        var (exit, output, error) = await Label(folder, model.Model, "[thing] (thing, 0.5)\nblue (blue, 0.5)", "--examples-from", examples);

        Assert.True(exit == OwlboxCli.Ok, output + error);
        foreach (var (file, (red, blue)) in truth)
        {
            Assert.Equal([red], Boxes(folder, file).Where(b => b.Label == "thing").Select(b => b.Box));
            Assert.Equal([blue], Boxes(folder, file).Where(b => b.Label == "blue").Select(b => b.Box));
        }
    }

    [Fact]
    public async Task AnExampleLineWithNoBox_Exits1_NamingTheLine_AndWritesNothing()
    {
        var (folder, _) = Dataset("shapes", "widget");
        var before = File.ReadAllBytes(Path.Combine(folder, LabelsFile.FileName));

        var (exit, _, error) = await Label(folder, model.Model, "red (red, 0.5)\n[thing]");

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains("prompt line 2 \"[thing]\": no box labelled 'thing'", error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(folder, LabelsFile.FileName)));
        Assert.False(Directory.Exists(Path.Combine(folder, ".owlbox")));
    }

    [Fact]
    public async Task AModelWithoutThePreparedForm_IsRefused_SayingModelsPrepare()
    {
        var (folder, _) = Dataset("shapes", "thing");
        var before = File.ReadAllBytes(Path.Combine(folder, LabelsFile.FileName));

        var (exit, _, error) = await Label(folder, Workspace.Owlv2Model, "[thing]");

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains("owlbox models prepare", error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(folder, LabelsFile.FileName)));
    }

    [Theory]
    [InlineData("small", "smaller than one patch")]
    [InlineData("outside", "is not inside the image")]
    public async Task AnExampleBoxThatCannotServe_IsRefused_NamingItsImage(string kind, string problem)
    {
        var (folder, _) = Dataset("shapes", "thing",
            kind == "small" ? b => new PixelBox(b.X, b.Y, 8, 8) : b => new PixelBox(b.X, b.Y, b.Width + 2000, b.Height));
        var before = File.ReadAllBytes(Path.Combine(folder, LabelsFile.FileName));

        var (exit, _, error) = await Label(folder, model.Model, "[thing]");

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains(problem, error, StringComparison.Ordinal);
        Assert.Contains("scene0-640x360.png", error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(folder, LabelsFile.FileName)));
    }
}
