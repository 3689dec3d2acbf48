using System.Text.Json.Nodes;
using Owlbox.Datasets.Local;

namespace Owlbox.Cli.Tests;

/// <summary>COCO and YOLO round trips of the bundled samples (labels file → format → a copy without labels) change no
/// box; odd inputs are listed, not dropped silently, and a box reaching outside its image is never written.</summary>
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

    /// <summary>A job's batches are journaled under .owlbox/ and folded later (a running or killed job leaves them
    /// there): an export reads them as labels too, and so does eval.</summary>
    [Fact]
    public async Task Export_IncludesWhatAJobJournaledButDidNotFoldYet()
    {
        var image = Path.GetFileName(_source.Images[0]);
        var box = new Owlbox.Labeling.Boxes.LabeledBox("journaled-only", 3, 4, 20, 10);
        await new LocalDatasetBackend(_source.Dataset).UpdateLabelsAsync([Owlbox.Datasets.LabelUpdate.ReplaceBoxes(image, [box])], CancellationToken.None);
        Assert.True(LabelJournal.HasPending(_source.Dataset)); // the box is in the journal, not yet in the labels file
        Assert.DoesNotContain("journaled-only", File.ReadAllText(_source.LabelsPath), StringComparison.Ordinal);

        var path = Path.Combine(_target.Root, "export.json");
        var export = await Workspace.RunAsync(CancellationToken.None, "export", _source.Dataset, "--format", "coco", "--out", path);

        Assert.Equal(0, export.Exit);
        var coco = JsonNode.Parse(File.ReadAllText(path))!;
        Assert.Contains(coco["categories"]!.AsArray(), c => (string?)c!["name"] == "journaled-only");
    }

    [Theory]
    [InlineData("coco", "export.json")]
    [InlineData("yolo", "yolo-labels")]
    [InlineData("voc", "voc-labels")]
    public async Task ARoundTrip_ChangesNoBox(string format, string output)
    {
        var path = Path.Combine(_target.Root, output);
        var before = _source.Snapshot();
        Assert.Contains("@", before, StringComparison.Ordinal); // the bundled samples hold boxes

        var export = await Workspace.RunAsync(CancellationToken.None, "export", _source.Dataset, "--format", format, "--out", path);
        var import = await Workspace.RunAsync(CancellationToken.None, "import", path, "--format", format, "--out", _target.Dataset);

        Assert.True(export.Exit == OwlboxCli.Ok, export.Out + export.Err);
        Assert.True(import.Exit == OwlboxCli.Ok, import.Out + import.Err);
        Assert.Equal(_source.Boxes(), _target.Boxes());
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
        var boxes = LabelsFile.Load(_target.LabelsPath).GetBoxes(first);
        Assert.DoesNotContain(boxes, b => b.X == 5000); // outside its image: dropped, and reported
        Assert.Equal(_source.Boxes(), _target.Boxes()); // the rest imported
    }

    [Fact]
    public async Task OddVocInput_IsListed_AndTheRestImported_WithoutReadingAnyDtd()
    {
        var path = Path.Combine(_target.Root, "voc");
        await Workspace.RunAsync(CancellationToken.None, "export", _source.Dataset, "--format", "voc", "--out", path);
        var exported = File.ReadAllText(Path.Combine(path, "labeled-600x400.xml"));
        Assert.Contains("<xmin>", exported, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(path, "labeled-600x400.xml"), exported
            .Replace("</annotation>", "<object><name>zebra</name><bndbox><xmin>5</xmin><ymin>5</ymin><xmax>900</xmax><ymax>20</ymax></bndbox></object></annotation>", StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(path, "broken.xml"), "<annotation><filename>wide-640x360.jpg</filename>");
        // An external entity: refused, never resolved (no file of this machine reaches the labels).
        File.WriteAllText(Path.Combine(path, "xxe.xml"), "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY e SYSTEM \"file:///etc/hostname\">]><annotation><filename>tall-360x640.png</filename><object><name>&e;</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object></annotation>");
        // Drawn on the stored pixels of the EXIF-rotated photo: the size is the wrong way round, and the user is told.
        var rotated = Path.Combine(path, "rotated-exif6.xml");
        var size = System.Text.RegularExpressions.Regex.Match(File.ReadAllText(rotated), "<width>(\\d+)</width>\\s*<height>(\\d+)</height>");
        File.WriteAllText(rotated, File.ReadAllText(rotated).Replace(size.Value, $"<width>{size.Groups[2].Value}</width><height>{size.Groups[1].Value}</height>", StringComparison.Ordinal));

        var import = await Workspace.RunAsync(CancellationToken.None, "import", path, "--format", "voc", "--out", _target.Dataset);

        Assert.Equal(OwlboxCli.SamplesFailed, import.Exit);
        Assert.Contains("'zebra', which classes.txt does not list", import.Out, StringComparison.Ordinal);
        Assert.Contains("reaches outside the 600x400 image", import.Out, StringComparison.Ordinal);
        Assert.Contains("broken.xml is not valid XML", import.Out, StringComparison.Ordinal);
        Assert.Contains("xxe.xml declares a DTD (<!DOCTYPE ...>), which an import refuses", import.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("XmlReaderSettings", import.Out, StringComparison.Ordinal);
        Assert.Contains("rotated by its EXIF orientation", import.Out, StringComparison.Ordinal);
        Assert.Empty(LabelsFile.Load(_target.LabelsPath).GetBoxes("tall-360x640.png"));
        Assert.DoesNotContain(LabelsFile.Load(_target.LabelsPath).GetBoxes("labeled-600x400.jpg"), b => b.Label == "zebra"); // outside: dropped, reported
        Assert.Contains("labeled-600x400.jpg: not imported (1 of 3 boxes refused); its labels are unchanged", import.Out, StringComparison.Ordinal);
        Assert.Empty(LabelsFile.Load(_target.LabelsPath).GetBoxes("labeled-600x400.jpg")); // not written: kept as it was (none)
        Assert.Contains("Imported 5 images", import.Out, StringComparison.Ordinal); // the rest imported
    }

    [Fact]
    public async Task AJobsScores_SurviveACocoRoundTrip_AndEvalReadsThem()
    {
        var job = await Workspace.RunAsync(CancellationToken.None, "label", _source.Dataset, "--model", Workspace.Owlv2Model, "--prompt-file", Workspace.PromptFile);
        Assert.True(job.Exit == OwlboxCli.Ok, job.Out + job.Err);
        var scored = LabelsFile.Load(_source.LabelsPath).GetBoxes("busy-800x450.jpg");
        Assert.Contains(scored, b => b.Score is > 0 and < 1); // the labels file keeps each new box's score
        var path = Path.Combine(_target.Root, "export.json");

        await Workspace.RunAsync(CancellationToken.None, "export", _source.Dataset, "--format", "coco", "--out", path);
        var import = await Workspace.RunAsync(CancellationToken.None, "import", path, "--format", "coco", "--out", _target.Dataset);

        Assert.True(import.Exit == OwlboxCli.Ok, import.Out + import.Err);
        Assert.Equal(scored.Select(b => b.Score), LabelsFile.Load(_target.LabelsPath).GetBoxes("busy-800x450.jpg").Select(b => b.Score));
    }
}
