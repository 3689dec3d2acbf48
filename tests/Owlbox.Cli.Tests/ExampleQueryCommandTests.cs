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

    /// <summary>A ground truth of the same images: every red square labelled <c>thing</c>.</summary>
    private string Truth(string name, Dictionary<string, (PixelBox Red, PixelBox Blue)> truth)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_root, name)).FullName;
        var boxes = new JsonObject();
        foreach (var (file, (red, _)) in truth)
        {
            File.Copy(Path.Combine(_root, "shapes", file), Path.Combine(folder, file));
            boxes[file] = new JsonArray(new JsonObject { ["label"] = "thing", ["x"] = red.X, ["y"] = red.Y, ["width"] = red.Width, ["height"] = red.Height });
        }
        File.WriteAllText(Path.Combine(folder, LabelsFile.FileName), new JsonObject { ["version"] = 1, ["type"] = "bounding-box-labels", ["boundingBoxes"] = boxes }.ToJsonString());
        return folder;
    }

    private async Task<double> ProposeAndEval(string folder, string truth, string jobId, string prompt)
    {
        var (exit, output, error) = await Label(folder, model.Model, prompt, "--propose-actions", jobId);
        Assert.True(exit == OwlboxCli.Ok, output + error);
        var (evalExit, json, evalError) = await Workspace.RunAsync("eval", folder, "--truth", truth, "--proposals", jobId, "--json");
        Assert.True(evalExit == OwlboxCli.Ok, json + evalError);
        return JsonNode.Parse(json)!["ap50"]!.GetValue<double>();
    }

    [Fact]
    public async Task Eval_OnALabeledCopy_ComparesTextExamplesAndBoth_TheExamplesBeatTheWord()
    {
        var (folder, truth) = Dataset("shapes", "thing");
        var truthFolder = Truth("truth", truth);
        var labelsBefore = File.ReadAllBytes(Path.Combine(folder, LabelsFile.FileName));

        var text = await ProposeAndEval(folder, truthFolder, "text", "thing (thing, 0.1)");
        var examples = await ProposeAndEval(folder, truthFolder, "examples", "[thing] (thing, 0.1)");
        var both = await ProposeAndEval(folder, truthFolder, "both", "thing (thing, 0.1)\n[thing] (thing, 0.1)");

        Assert.Equal(0, text); // the word alone finds no red square
        Assert.True(examples >= 0.99, $"examples AP50 {examples}"); // every red square, first
        Assert.True(both >= 0.99, $"both AP50 {both}"); // the word adds nothing above the examples' ranks
        Assert.Equal(labelsBefore, File.ReadAllBytes(Path.Combine(folder, LabelsFile.FileName))); // previews only
    }

    [Fact]
    public async Task Calibrate_TakesExampleLines_AndProposesAThresholdForTheirLabel()
    {
        var (_, truth) = Dataset("shapes", "thing");
        var labeled = Truth("labeled", truth);

        var (exit, json, error) = await Workspace.RunAsync("calibrate", labeled, "--model", model.Model, "--prompt", "[thing] (thing, 0.5)",
            "--execution-provider", "cpu", "--json");

        Assert.True(exit == OwlboxCli.Ok, json + error);
        var thing = JsonNode.Parse(json)!["labels"]!.AsArray().Single(l => l!["label"]!.GetValue<string>() == "thing")!;
        Assert.NotNull(thing["threshold"]);
        Assert.Equal(6, thing["truePositives"]!.GetValue<int>());
    }

    [Fact]
    public async Task Calibrate_WithAnExampleLineWithNoBox_Exits1_NamingTheLine()
    {
        var (folder, _) = Dataset("shapes", "thing");

        var (exit, _, error) = await Workspace.RunAsync("calibrate", folder, "--model", model.Model, "--prompt", "thing (thing, 0.5)\n[widget]",
            "--execution-provider", "cpu");

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains("prompt line 2 \"[widget]\": no box labelled 'widget'", error, StringComparison.Ordinal);
    }

    /// <summary><c>owlbox serve</c>'s composition (in-memory bus, SQLite store) with the prepared model as
    /// <c>prepared</c>, and <c>owlbox submit</c> following the job to its end.</summary>
    private async Task<(int Exit, string Out, string Err)> SubmitToServe(string folder, string prompt)
    {
        const string key = "examples-gateway-key-0123456789";
        var app = Owlbox.Cli.ServeCommand.Build([
            "--urls", "http://127.0.0.1:0",
            $"--Owlbox:Gateway:ApiKeys:0={key}",
            $"--Owlbox:SqlitePath={Path.Combine(_root, "jobs.db")}",
            $"--Owlbox:Models:prepared={model.Model}",
            $"--Owlbox:Datasets:LocalRoots:0={_root}",
        ]);
        await app.StartAsync();
        try
        {
            Environment.SetEnvironmentVariable("OWLBOX_EXAMPLES_KEY", key);
            return await Workspace.RunAsync("submit", "--gateway", app.Urls.First(), "--api-key-env", "OWLBOX_EXAMPLES_KEY", folder,
                "--model", "prepared", "--prompt", prompt, "--poll-seconds", "0.1");
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task Serve_AJobWithAnExampleLine_GathersItsExamplesAtSubmission_AndFindsTheRedSquares()
    {
        var (folder, truth) = Dataset("shapes", "thing");

        var (exit, output, error) = await SubmitToServe(folder, "[thing] (thing, 0.5)");

        Assert.True(exit == OwlboxCli.Ok, output + error);
        Assert.Contains("completed", output, StringComparison.Ordinal);
        foreach (var (file, (red, _)) in truth)
        {
            Assert.Equal([red], Boxes(folder, file).Where(b => b.Label == "thing").Select(b => b.Box));
        }
    }

    [Fact]
    public async Task Serve_AnExampleLineWithNoBox_IsRefusedAtSubmission_NamingTheLine()
    {
        var (folder, _) = Dataset("shapes", "widget");
        var before = File.ReadAllBytes(Path.Combine(folder, LabelsFile.FileName));

        var (exit, output, error) = await SubmitToServe(folder, "red (red, 0.5)\n[thing]");

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains("prompt line 2 \"[thing]\": no box labelled 'thing'", output + error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(folder, LabelsFile.FileName)));
    }

    [Fact]
    public async Task DeletingThePromptsLabels_KeepsTheExampleBoxes_TheUsersOwn()
    {
        // Hand boxes a little inside the red squares: the model's box for the square is not the same box.
        var (folder, truth) = Dataset("shapes", "thing", b => new PixelBox(b.X + 3, b.Y + 3, b.Width - 6, b.Height - 6));
        var hand = truth.Take(3).ToDictionary(kv => kv.Key, kv => Boxes(folder, kv.Key).Single());

        var (exit, output, error) = await Label(folder, model.Model, "[thing] (thing, 0.5)", "--delete_existing_bounding_boxes", "matching-prompt");

        Assert.True(exit == OwlboxCli.Ok, output + error);
        foreach (var (file, box) in hand)
        {
            Assert.Contains(box, Boxes(folder, file));
        }
    }
}
