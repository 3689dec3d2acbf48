using System.Text;
using System.Text.Json;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Cli.Tests;

/// <summary><c>owlbox eval</c> of a dataset's labels reads only the measured images' boxes, streamed (issue 27): boxes
/// of other samples anywhere in the file are passed over, a pending journal's writes count, and an invalid entry on a
/// sample not measured still stops it, naming the file.</summary>
public sealed class EvalLabelsTests : IDisposable
{
    private readonly Workspace _truth = new();
    private readonly Workspace _ws = new();

    public void Dispose()
    {
        _truth.Dispose();
        _ws.Dispose();
    }

    private const string Cat = "{\"label\": \"cat\", \"x\": 20, \"y\": 30, \"width\": 100, \"height\": 80}";

    /// <summary>A labels file: a cat on each of <paramref name="images"/>, and 2,000 other samples (not images of the
    /// folder) with cats, empty arrays and metadata around them.</summary>
    private static void Write(string path, IEnumerable<string> images, string? extra = null)
    {
        var boxes = new StringBuilder();
        var i = 0;
        foreach (var image in images)
        {
            for (var n = 0; n < 1000; n++, i++)
            {
                boxes.Append($"\"elsewhere-{i}.jpg\": {(i % 2 == 0 ? $"[{Cat}]" : "[]")},\n");
            }
            boxes.Append($"\"{image}\": [{Cat}],\n");
        }
        boxes.Append(extra ?? $"\"elsewhere-last.jpg\": [{Cat}]");
        File.WriteAllText(path, $"{{\"version\": 1, \"type\": \"bounding-box-labels\", \"boundingBoxes\": {{{boxes}}}, \"metadata\": {{\"elsewhere-0.jpg\": {{\"by\": \"hand\"}}}}}}");
    }

    [Fact]
    public async Task TheMeasuredImagesBoxes_AmongManyOthers_WithAJournaledWriteCounted()
    {
        var images = _truth.Images.Take(3).ToArray();
        Write(_truth.LabelsPath, images);
        Write(_ws.LabelsPath, images[..2]);
        // The third image's cat waits in the dataset's journal (a job still running, or killed).
        await new LocalDatasetBackend(_ws.Dataset).UpdateLabelsAsync([LabelUpdate.ReplaceBoxes(images[2], [new LabeledBox("cat", 20, 30, 100, 80)])],
            CancellationToken.None);
        Assert.True(LabelJournal.HasPending(_ws.Dataset));

        var (exit, output, err) = await Workspace.RunAsync(CancellationToken.None, "eval", _ws.Dataset, "--truth", _truth.Dataset, "--json");

        Assert.True(exit == OwlboxCli.Ok, output + err);
        var cat = JsonDocument.Parse(output).RootElement.GetProperty("per_label").GetProperty("cat");
        Assert.Equal((3, 0, 3), (cat.GetProperty("true_positives").GetInt32(), cat.GetProperty("false_positives").GetInt32(), cat.GetProperty("ground_truth").GetInt32()));
    }

    [Theory]
    [InlineData("truth")]
    [InlineData("dataset")]
    public async Task AnInvalidBoxOnASampleNotMeasured_IsASetupError_NamingTheFileAndTheField(string which)
    {
        var images = _truth.Images.Take(3).ToArray();
        Write(_truth.LabelsPath, images);
        Write(_ws.LabelsPath, images);
        var broken = which == "truth" ? _truth.LabelsPath : _ws.LabelsPath;
        Write(broken, images, "\"not-measured.jpg\": [{\"label\": \"cat\", \"x\": 20, \"y\": 30, \"width\": 100}]");

        var (exit, output, err) = await Workspace.RunAsync(CancellationToken.None, "eval", _ws.Dataset, "--truth", _truth.Dataset);

        Assert.True(exit == OwlboxCli.SetupError, $"exit {exit}\n{output}{err}");
        Assert.Contains($"{broken}: boundingBoxes[\"not-measured.jpg\"][0]: \"height\" must be a number", err, StringComparison.Ordinal);
        Assert.DoesNotContain("AP50", output, StringComparison.Ordinal);
    }
}
