using System.Text.Json.Nodes;
using Owlbox.Datasets.Local;

namespace Owlbox.Cli.Tests;

/// <summary>COCO and YOLO round trips of the bundled samples (labels file → format → a copy without labels) change no
/// box; odd inputs are listed, not dropped silently.</summary>
public sealed class FormatsCommandTests : IDisposable
{
    private readonly Workspace _source = new();
    private readonly Workspace _target = new();

    public FormatsCommandTests() => File.Delete(_target.LabelsPath);

    public void Dispose()
    {
        _source.Dispose();
        _target.Dispose();
    }

    [Theory]
    [InlineData("coco", "export.json")]
    [InlineData("yolo", "yolo-labels")]
    public async Task ARoundTrip_ChangesNoBox(string format, string output)
    {
        var path = Path.Combine(_target.Root, output);
        var before = _source.Snapshot();
        Assert.Contains("@", before, StringComparison.Ordinal); // the bundled samples hold boxes

        var export = await Workspace.RunAsync(CancellationToken.None, "export", _source.Dataset, "--format", format, "--out", path);
        var import = await Workspace.RunAsync(CancellationToken.None, "import", path, "--format", format, "--out", _target.Dataset);

        Assert.True(export.Exit == OwlboxCli.Ok, export.Out + export.Err);
        Assert.True(import.Exit == OwlboxCli.Ok, import.Out + import.Err);
        Assert.Equal(Boxes(_source), Boxes(_target));
    }

    [Fact]
    public async Task OddCocoInput_IsListed_AndTheRestImported()
    {
        var path = Path.Combine(_target.Root, "export.json");
        await Workspace.RunAsync(CancellationToken.None, "export", _source.Dataset, "--format", "coco", "--out", path);
        var coco = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        coco["images"]!.AsArray().Add(new JsonObject { ["id"] = 99, ["file_name"] = "missing.jpg", ["width"] = 10, ["height"] = 10 });
        coco["annotations"]!.AsArray().Add(new JsonObject { ["id"] = 900, ["image_id"] = 99, ["category_id"] = 1, ["bbox"] = new JsonArray(1, 1, 5, 5) });
        coco["annotations"]!.AsArray().Add(new JsonObject { ["id"] = 901, ["image_id"] = 1, ["category_id"] = 77, ["bbox"] = new JsonArray(1, 1, 5, 5) });
        coco["annotations"]!.AsArray().Add(new JsonObject { ["id"] = 902, ["image_id"] = 1, ["category_id"] = 1, ["bbox"] = new JsonArray(5000, 1, 50, 5) });
        File.WriteAllText(path, coco.ToJsonString());

        var import = await Workspace.RunAsync(CancellationToken.None, "import", path, "--format", "coco", "--out", _target.Dataset);

        Assert.Equal(OwlboxCli.SamplesFailed, import.Exit);
        Assert.Contains("missing.jpg is not an image of", import.Out, StringComparison.Ordinal);
        Assert.Contains("category 77", import.Out, StringComparison.Ordinal);
        Assert.Contains("reaches outside", import.Out, StringComparison.Ordinal);
        var first = LocalDataset.Open(_target.Dataset).Samples[0].Id;
        Assert.Contains(LabelsFile.Load(_target.LabelsPath).GetBoxes(first), b => b.X == 5000); // kept, and reported
    }

    private static string Boxes(Workspace ws)
    {
        var labels = LabelsFile.Load(ws.LabelsPath);
        return string.Join("\n", ws.Images.Select(i => $"{i}: {string.Join(" ", labels.GetBoxes(i).Select(b => $"{b.Label}@{b.X},{b.Y},{b.Width},{b.Height}").Order(StringComparer.Ordinal))}"));
    }
}
