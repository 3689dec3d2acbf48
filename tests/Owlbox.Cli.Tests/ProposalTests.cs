using System.Text.Json;
using Owlbox.Cli;
using Owlbox.Datasets.Proposals;

namespace Owlbox.Cli.Tests;

/// <summary>Preview mode (the original block's --propose-actions): proposals for every sample, labels untouched until applied.</summary>
public sealed class ProposalTests : IDisposable
{
    private readonly Workspace _ws = new();

    public void Dispose() => _ws.Dispose();

    [Fact]
    public async Task Propose_LeavesLabelsUntouched_AndStoresEverySampleWithProvenance()
    {
        var before = File.ReadAllBytes(_ws.LabelsPath);

        var (exit, output, _) = await _ws.LabelAsync("--propose-actions", "42", "--delete_existing_bounding_boxes", "matching-prompt");

        Assert.Equal(OwlboxCli.Ok, exit);
        Assert.Equal(before, File.ReadAllBytes(_ws.LabelsPath));
        var set = new ProposalStore(_ws.Dataset).Load("42");
        Assert.Equal(6, set.Samples.Count); // including the image where nothing was found
        Assert.Empty(Assert.Single(set.Samples, s => s.SampleId == "empty-512x384.png").BoundingBoxes);
        var labeled = Assert.Single(set.Samples, s => s.SampleId == "labeled-600x400.jpg");
        Assert.Equal(["person", "red"], labeled.ExistingBoxes.Select(b => b.Label));
        Assert.Equal(["person", "blue", "yellow"], labeled.BoundingBoxes.Select(b => b.Label));
        var blue = Assert.Single(labeled.Detections, d => d.Label == "blue");
        Assert.Equal("owlbox/owlv2-colour-test", blue.Provenance.ModelId);
        Assert.Equal(3, blue.Provenance.PromptLine);
        Assert.Equal("a blue thing", blue.Provenance.SearchText);
        Assert.InRange(blue.Provenance.Score, 0.85, 0.95);
        Assert.Equal(0.5, blue.Provenance.MinConfidence);
        Assert.Equal(0.2, blue.Provenance.NmsIouThreshold);
        Assert.Equal("owlv2", labeled.Metadata["labeled_by"]);
        Assert.Contains(".owlbox/proposals/42.json", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_GivesExactlyWhatApplyModeWrites_AndRemovesTheSet()
    {
        using var direct = new Workspace();
        await direct.LabelAsync("--delete_existing_bounding_boxes", "matching-prompt");
        await _ws.LabelAsync("--propose-actions", "7", "--delete_existing_bounding_boxes", "matching-prompt");

        var (listExit, list, _) = await Workspace.RunAsync("proposals", "list", _ws.Dataset);
        var (exit, output, _) = await Workspace.RunAsync("proposals", "apply", _ws.Dataset, "7");

        Assert.Equal(OwlboxCli.Ok, listExit);
        Assert.Contains("7\t", list, StringComparison.Ordinal);
        Assert.Contains("6 samples, 11 new boxes, 0 failed", list, StringComparison.Ordinal);
        Assert.Equal(OwlboxCli.Ok, exit);
        Assert.Contains("applied proposal set 7 to 6 of 6 samples", output, StringComparison.Ordinal);
        foreach (var file in Workspace.GroundTruth().Keys)
        {
            Assert.Equal(direct.Boxes(file), _ws.Boxes(file));
        }
        Assert.False(new ProposalStore(_ws.Dataset).Exists("7"));
    }

    [Fact]
    public async Task Apply_AfterTheLabelsChanged_RefusesThatSampleUnlessForced()
    {
        await _ws.LabelAsync("--propose-actions", "8");
        // Someone edits one sample's labels after the preview ran.
        var metadata = Owlbox.Datasets.Local.LabelsFile.Load(_ws.LabelsPath).GetMetadata("wide-640x360.jpg") ?? new Dictionary<string, string>();
        Owlbox.Datasets.Local.LabelsFile.Rewrite(_ws.LabelsPath,
            [new("wide-640x360.jpg", new Owlbox.Datasets.SampleLabels([new("hand-drawn", 1, 1, 9, 9)], metadata))]);

        var (exit, output, err) = await Workspace.RunAsync("proposals", "apply", _ws.Dataset, "8");

        Assert.Equal(OwlboxCli.SamplesFailed, exit);
        Assert.Contains("applied proposal set 8 to 5 of 6 samples", output, StringComparison.Ordinal);
        Assert.Contains("skipped wide-640x360.jpg: its boxes changed", err, StringComparison.Ordinal);
        Assert.Equal("hand-drawn", Assert.Single(_ws.Boxes("wide-640x360.jpg")).Label);
        Assert.True(new ProposalStore(_ws.Dataset).Exists("8"));

        var (forced, forcedOutput, _) = await Workspace.RunAsync("proposals", "apply", _ws.Dataset, "8", "--force");

        Assert.Equal(OwlboxCli.Ok, forced);
        Assert.Contains("applied proposal set 8 to 6 of 6 samples", forcedOutput, StringComparison.Ordinal);
        Assert.Equal(["blue", "red"], _ws.Boxes("wide-640x360.jpg").Select(b => b.Label).Order());
        // Applying again after a partial apply changed nothing on the samples applied the first time.
        using var direct = new Workspace();
        await direct.LabelAsync();
        Assert.Equal(direct.Snapshot(), _ws.Snapshot());
    }

    [Fact]
    public async Task Apply_AfterTheMetadataChanged_RefusesThatSample()
    {
        await _ws.LabelAsync("--propose-actions", "12");
        Owlbox.Datasets.Local.LabelsFile.Update(_ws.LabelsPath,
            [new("busy-800x450.jpg", c => c with { Metadata = new Dictionary<string, string> { ["reviewed_by"] = "ana" } })]);

        var (exit, output, err) = await Workspace.RunAsync("proposals", "apply", _ws.Dataset, "12");

        Assert.Equal(OwlboxCli.SamplesFailed, exit);
        Assert.Contains("applied proposal set 12 to 5 of 6 samples", output, StringComparison.Ordinal);
        Assert.Contains("skipped busy-800x450.jpg: its metadata changed", err, StringComparison.Ordinal);
        Assert.Empty(_ws.Boxes("busy-800x450.jpg"));
    }

    [Fact]
    public async Task Apply_ASetHoldingADeletedImage_AppliesTheRest()
    {
        await _ws.LabelAsync("--propose-actions", "13");
        File.Delete(Path.Combine(_ws.Dataset, "tall-360x640.png"));

        var (exit, output, err) = await Workspace.RunAsync("proposals", "apply", _ws.Dataset, "13");

        Assert.Equal(OwlboxCli.SamplesFailed, exit);
        Assert.Contains("applied proposal set 13 to 5 of 6 samples", output, StringComparison.Ordinal);
        Assert.Contains("skipped tall-360x640.png: the image is no longer in the dataset", err, StringComparison.Ordinal);
        Assert.Equal(2, _ws.Boxes("wide-640x360.jpg").Count);
    }

    [Fact]
    public async Task Propose_ReusingAnId_IsRefusedUnlessReplacing()
    {
        await _ws.LabelAsync("--propose-actions", "14");
        var first = File.ReadAllText(new ProposalStore(_ws.Dataset).PathFor("14"));

        var (refused, _, err) = await Workspace.RunAsync("label", _ws.Dataset, "--model", Workspace.Owlv2Model, "--prompt", "red", "--propose-actions", "14");
        var unchanged = File.ReadAllText(new ProposalStore(_ws.Dataset).PathFor("14"));
        var (replaced, _, _) = await Workspace.RunAsync("label", _ws.Dataset, "--model", Workspace.Owlv2Model, "--prompt", "red", "--propose-actions", "14", "--replace-proposals");

        Assert.Equal((OwlboxCli.SetupError, OwlboxCli.Ok), (refused, replaced));
        Assert.Contains("proposal set '14' already exists", err, StringComparison.Ordinal);
        Assert.Equal(first, unchanged);
        Assert.Equal("red", new ProposalStore(_ws.Dataset).Load("14").Prompt);
    }

    [Fact]
    public async Task Discard_RemovesTheSetWithoutTouchingLabels()
    {
        await _ws.LabelAsync("--propose-actions", "9");
        var before = File.ReadAllBytes(_ws.LabelsPath);

        var (exit, _, _) = await Workspace.RunAsync("proposals", "discard", _ws.Dataset, "9");
        var (missingExit, _, err) = await Workspace.RunAsync("proposals", "apply", _ws.Dataset, "9");

        Assert.Equal(OwlboxCli.Ok, exit);
        Assert.Equal(before, File.ReadAllBytes(_ws.LabelsPath));
        Assert.Equal(OwlboxCli.SetupError, missingExit);
        Assert.Contains("no proposal set '9'", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Propose_FailedSamples_AreRecordedInTheSet()
    {
        File.WriteAllBytes(Path.Combine(_ws.Dataset, "broken.png"), [1, 2, 3]);

        var (exit, _, _) = await _ws.LabelAsync("--propose-actions", "10");

        Assert.Equal(OwlboxCli.SamplesFailed, exit);
        var json = JsonDocument.Parse(File.ReadAllText(new ProposalStore(_ws.Dataset).PathFor("10")));
        var failed = Assert.Single(json.RootElement.GetProperty("failed").EnumerateArray());
        Assert.Equal("broken.png", failed.GetProperty("sampleId").GetString());
        Assert.Contains("not a supported image", failed.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }
}
