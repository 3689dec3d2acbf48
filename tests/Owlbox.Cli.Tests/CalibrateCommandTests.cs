using System.Text.Json;
using Owlbox.Datasets.Local;

namespace Owlbox.Cli.Tests;

/// <summary><c>owlbox calibrate</c> on the bundled samples, labeled by a first job at the prompt's thresholds (the test
/// model's confident boxes are the drawn shapes): every label gets a threshold, and labeling a fresh copy with the
/// calibrated prompt gives exactly the labeled boxes back.</summary>
public sealed class CalibrateCommandTests : IDisposable
{
    private readonly Workspace _labeled = new();
    private readonly Workspace _fresh = new();

    public CalibrateCommandTests()
    {
        File.Delete(_labeled.LabelsPath);
        File.Delete(_fresh.LabelsPath);
    }

    public void Dispose()
    {
        _labeled.Dispose();
        _fresh.Dispose();
    }

    [Fact]
    public async Task ProposesAThresholdPerLabel_ThatGivesBackExactlyTheLabeledBoxes()
    {
        var job = await Workspace.RunAsync("label", _labeled.Dataset, "--model", Workspace.Owlv2Model, "--prompt-file", Workspace.PromptFile);
        Assert.True(job.Exit == OwlboxCli.Ok, job.Out + job.Err);
        var truth = _labeled.Boxes();
        Assert.Contains("@", truth, StringComparison.Ordinal);
        var labelsBefore = File.ReadAllText(_labeled.LabelsPath);
        var output = Path.Combine(_labeled.Root, "calibrated.txt");

        var calibrate = await Workspace.RunAsync("calibrate", _labeled.Dataset, "--model", Workspace.Owlv2Model,
            "--prompt-file", Workspace.PromptFile, "--target-precision", "0.9", "--out", output, "--json");

        Assert.True(calibrate.Exit == OwlboxCli.Ok, calibrate.Out + calibrate.Err);
        Assert.Equal(labelsBefore, File.ReadAllText(_labeled.LabelsPath)); // the labels are never touched
        var report = JsonDocument.Parse(calibrate.Out).RootElement;
        foreach (var label in report.GetProperty("labels").EnumerateArray())
        {
            Assert.True(label.GetProperty("threshold").ValueKind == JsonValueKind.Number, label.ToString());
            Assert.True(label.GetProperty("precision").GetDouble() >= 0.9, label.ToString());
        }
        Assert.True(File.Exists(Path.Combine(_labeled.Dataset, ".owlbox", "calibration.json")), "kept for the review page");
        var calibrated = File.ReadAllText(output);
        Assert.NotEqual(File.ReadAllText(Workspace.PromptFile), calibrated);

        var relabel = await Workspace.RunAsync("label", _fresh.Dataset, "--model", Workspace.Owlv2Model, "--prompt-file", output);

        Assert.True(relabel.Exit == OwlboxCli.Ok, relabel.Out + relabel.Err);
        Assert.Equal(truth, _fresh.Boxes());
    }


    [Fact]
    public async Task ABoxTheLabelsLack_CountsAgainstPrecision_AndAnUnreachableTargetKeepsTheLine()
    {
        // Ground truth with only one of the shapes labeled: every other confident box is a false positive.
        File.WriteAllText(_labeled.LabelsPath, """{"version":1,"type":"bounding-box-labels","boundingBoxes":{"busy-800x450.jpg":[{"label":"red","x":33,"y":33,"width":100,"height":100}]}}""");

        var calibrate = await Workspace.RunAsync("calibrate", _labeled.Dataset, "--model", Workspace.Owlv2Model,
            "--prompt", "red square (red, 0.5)\ngreen block (green, 0.5)", "--target-precision", "0.99");

        Assert.True(calibrate.Exit == OwlboxCli.Ok, calibrate.Out + calibrate.Err);
        Assert.Contains("green: no threshold reaches precision 0.990", calibrate.Out, StringComparison.Ordinal);
        Assert.Contains("green block (green, 0.5)", calibrate.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Out_NeverOverwritesAFileThatIsNotThePromptFile()
    {
        var other = _labeled.Write("notes.txt", "mine");

        var calibrate = await Workspace.RunAsync("calibrate", _labeled.Dataset, "--model", Workspace.Owlv2Model,
            "--prompt-file", Workspace.PromptFile, "--out", other);

        Assert.Equal(OwlboxCli.SetupError, calibrate.Exit);
        Assert.Contains("is not the --prompt-file", calibrate.Err, StringComparison.Ordinal);
        Assert.Equal("mine", File.ReadAllText(other));
    }

    /// <summary>Used to exit 0 having calibrated nothing (issue 22, finding 14).</summary>
    [Fact]
    public async Task ADatasetWithNoImages_IsASetupError()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_labeled.Root, "empty")).FullName;

        var calibrate = await Workspace.RunAsync("calibrate", empty, "--model", Workspace.Owlv2Model, "--prompt-file", Workspace.PromptFile);

        Assert.True(calibrate.Exit == OwlboxCli.SetupError, calibrate.Out + calibrate.Err);
        Assert.Contains("holds no images: there is nothing to calibrate on", calibrate.Err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(empty, ".owlbox")), "no calibration.json for nothing");
    }

    [Fact]
    public async Task NoBoxOfThePromptsLabels_IsASetupError()
    {
        File.WriteAllText(_labeled.LabelsPath, """{"version":1,"type":"bounding-box-labels","boundingBoxes":{"busy-800x450.jpg":[{"label":"cat","x":33,"y":33,"width":100,"height":100}]}}""");

        var calibrate = await Workspace.RunAsync("calibrate", _labeled.Dataset, "--model", Workspace.Owlv2Model,
            "--prompt", "red square (red, 0.5)\ngreen block (green, 0.5)");

        Assert.True(calibrate.Exit == OwlboxCli.SetupError, calibrate.Out + calibrate.Err);
        Assert.Contains("has no box labeled 'red' or 'green'", calibrate.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_labeled.Dataset, ".owlbox", "calibration.json")));
    }
}
