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

/// <summary>The generated shapes the example tests share (the command's and the review page's).</summary>
public static class ExampleScenes
{
    private const InputLayout V2 = InputLayout.PadBottomRight;

    /// <summary>Six images, a red and a blue square on each, at different places and sizes; the red squares of the
    /// first three carry hand boxes labelled <paramref name="handLabel"/> (none when null).</summary>
    public static (string Folder, Dictionary<string, (PixelBox Red, PixelBox Blue)> Truth) Write(string folder, string? handLabel, Func<PixelBox, PixelBox>? handBox = null)
    {
        var truth = new Dictionary<string, (PixelBox, PixelBox)>();
        (int W, int H, int[] Red, int[] Blue)[] layouts =
        [
            (640, 360, [2, 2, 4, 3], [12, 5, 6, 5]),
            (480, 640, [3, 10, 5, 4], [12, 2, 4, 4]),
            (800, 450, [16, 6, 4, 5], [1, 1, 3, 3]),
            (600, 400, [10, 8, 3, 3], [2, 2, 5, 4]),
            (640, 480, [1, 12, 6, 4], [14, 3, 5, 6]),
            (512, 512, [18, 18, 4, 4], [5, 5, 3, 7]),
        ];
        var boxes = new JsonObject();
        for (var i = 0; i < layouts.Length; i++)
        {
            var (w, h, r, b) = layouts[i];
            var scene = new Scene(w, h);
            var red = scene.Cells(V2, r[0], r[1], r[2], r[3]);
            var blue = scene.Cells(V2, b[0], b[1], b[2], b[3]);
            scene.Add("red", red).Add("blue", blue);
            var file = $"scene{i}-{w}x{h}.png";
            File.WriteAllBytes(Path.Combine(folder, file), scene.Encode(SKEncodedImageFormat.Png));
            truth[file] = (red, blue);
            if (handLabel is not null && i < 3)
            {
                var hand = (handBox ?? (x => x))(red);
                boxes[file] = new JsonArray(new JsonObject { ["label"] = handLabel, ["x"] = hand.X, ["y"] = hand.Y, ["width"] = hand.Width, ["height"] = hand.Height });
            }
        }
        var labels = new JsonObject { ["version"] = 1, ["type"] = "bounding-box-labels", ["boundingBoxes"] = boxes };
        File.WriteAllText(Path.Combine(folder, LabelsFile.FileName), labels.ToJsonString());
        return (folder, truth);
    }
}
