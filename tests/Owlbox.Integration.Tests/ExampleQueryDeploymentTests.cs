using System.Text.Json.Nodes;
using Owlbox.Cli;
using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;
using Owlbox.ModelTool;
using SkiaSharp;

namespace Owlbox.Integration.Tests;

/// <summary>A job with an example line (<c>[thing]</c>) on the deployment (RabbitMQ, Postgres, one process per role):
/// the gateway gathers the examples at submission and stores them with the job; the detector process fetches the
/// example image through the dataset backend and scores every image with its query.</summary>
public sealed class ExampleQueryDeploymentTests(Infrastructure infra) : IClassFixture<Infrastructure>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("owlbox-examples-it-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [SkippableFact]
    public async Task AJobWithAnExampleLine_FindsTheRedSquares_AcrossProcesses()
    {
        Skip.If(infra.SkipReason is not null, infra.SkipReason);
        var model = Path.Combine(_root, "model");
        var source = Path.Combine(OwlboxProcess.RepoRoot, "models", "owlv2-test");
        foreach (var f in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(model, Path.GetRelativePath(source, f));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(f, to);
        }
        using (var o = new StringWriter())
        using (var e = new StringWriter())
        {
            Assert.True(await OwlboxCli.RunAsync(["models", "prepare", model], o, e) == OwlboxCli.Ok, o + e.ToString());
        }
        var data = Directory.CreateDirectory(Path.Combine(_root, "data")).FullName;
        var reds = new Dictionary<string, PixelBox>();
        (int[] Red, int[] Blue)[] layouts = [([2, 2, 4, 3], [12, 5, 5, 4]), ([10, 8, 3, 3], [2, 2, 5, 4]), ([14, 6, 4, 4], [1, 8, 4, 3])];
        for (var i = 0; i < layouts.Length; i++)
        {
            var scene = new Scene(320, 240);
            var (r, b) = layouts[i];
            var red = scene.Cells(InputLayout.PadBottomRight, r[0], r[1], r[2], r[3]);
            scene.Add("red", red).Add("blue", scene.Cells(InputLayout.PadBottomRight, b[0], b[1], b[2], b[3]));
            var name = $"img-{i}.png";
            File.WriteAllBytes(Path.Combine(data, name), scene.Encode(SKEncodedImageFormat.Png));
            reds[name] = red;
        }
        var hand = reds["img-0.png"];
        File.WriteAllText(Path.Combine(data, LabelsFile.FileName), new JsonObject
        {
            ["version"] = 1,
            ["type"] = "bounding-box-labels",
            ["boundingBoxes"] = new JsonObject { ["img-0.png"] = new JsonArray(new JsonObject { ["label"] = "thing", ["x"] = hand.X, ["y"] = hand.Y, ["width"] = hand.Width, ["height"] = hand.Height }) },
        }.ToJsonString());
        await using var d = await Deployment.StartAsync(infra, _root, environmentForAll: new Dictionary<string, string> { [$"Owlbox__Models__{Deployment.ModelId}"] = model });
        Environment.SetEnvironmentVariable("OWLBOX_IT_KEY", Deployment.ApiKey);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await OwlboxCli.RunAsync(["submit", "--gateway", d.Gateway().BaseAddress!.ToString(), "--api-key-env", "OWLBOX_IT_KEY",
            data, "--model", Deployment.ModelId, "--prompt", "[thing] (thing, 0.5)", "--poll-seconds", "0.2"], stdout, stderr);

        Assert.True(exit == OwlboxCli.Ok, stdout + stderr.ToString());
        var labels = LabelsFile.Load(Path.Combine(data, LabelsFile.FileName));
        foreach (var (file, red) in reds)
        {
            Assert.Equal([red], labels.GetBoxes(file).Where(b => b.Label == "thing").Select(b => b.Box));
        }
    }
}
