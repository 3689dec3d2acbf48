using Owlbox.Datasets;
using Owlbox.Datasets.Local;

namespace Owlbox.Cli.Tests;

/// <summary>Issue 22's rule for a dataset's <c>.owlbox/</c>: nothing under it is reached through a symbolic link, for
/// every file Owlbox keeps there (job store, labels lock, proposal sets, calibration), not only the embedding cache.
/// A link there could send a job store or a proposal set into someone else's folder.</summary>
public sealed class OwlboxFolderLinkTests : IDisposable
{
    private readonly Workspace _ws = new();
    private readonly string _elsewhere = Directory.CreateTempSubdirectory("owlbox-elsewhere-").FullName;

    public void Dispose()
    {
        _ws.Dispose();
        Directory.Delete(_elsewhere, recursive: true);
    }

    private string LinkOwlboxFolder()
    {
        var link = Path.Combine(_ws.Dataset, OwlboxFolder.Name);
        if (Directory.Exists(link))
        {
            Directory.Delete(link, recursive: true);
        }
        Directory.CreateSymbolicLink(link, _elsewhere);
        return link;
    }

    [Fact]
    public async Task Label_WithOwlboxFolderALink_StopsAtSetupNamingIt_AndWritesNothingThere()
    {
        var labels = _ws.Snapshot();
        var link = LinkOwlboxFolder();

        var (exit, output, error) = await _ws.LabelAsync();

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains(link, output + error);
        Assert.Contains("symbolic link", output + error);
        Assert.DoesNotContain("   at ", output + error);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_elsewhere)); // no jobs.db, lock or encodings out there
        Assert.Equal(labels, _ws.Snapshot());
    }

    [Fact]
    public async Task PreviewJob_WithProposalsFolderALink_StopsAtSetup_AndWritesNoProposalThere()
    {
        Directory.CreateDirectory(Path.Combine(_ws.Dataset, OwlboxFolder.Name));
        var proposals = Path.Combine(_ws.Dataset, OwlboxFolder.Name, "proposals");
        Directory.CreateSymbolicLink(proposals, _elsewhere);

        var (exit, output, error) = await _ws.LabelAsync("--propose-actions", "p1");

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains(proposals, output + error);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_elsewhere));
    }

    [Fact]
    public async Task LabelsWrite_WithOwlboxFolderALink_IsRefused_AndTheLabelsFileIsUnchanged()
    {
        var labels = _ws.Snapshot();
        LinkOwlboxFolder();
        var image = Path.GetFileName(_ws.Images[0]);

        var error = await Assert.ThrowsAsync<DatasetException>(() => new LocalDatasetBackend(_ws.Dataset)
            .UpdateLabelsAsync([LabelUpdate.ReplaceBoxes(image, [])], CancellationToken.None));

        Assert.Contains("symbolic link", error.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_elsewhere)); // not even the lock file
        Assert.Equal(labels, _ws.Snapshot());
    }

    [Fact]
    public void ReviewState_WithCalibrationReachedThroughALink_ShowsAWarning_NotTheLinkedFile()
    {
        var outside = Path.Combine(_elsewhere, "calibration.json");
        File.WriteAllText(outside, """{"labels": []}""");
        Directory.CreateDirectory(Path.Combine(_ws.Dataset, OwlboxFolder.Name));
        File.CreateSymbolicLink(Path.Combine(_ws.Dataset, OwlboxFolder.Name, "calibration.json"), outside);

        var state = Review.ReviewState.Build(LocalDataset.Open(_ws.Dataset), new Datasets.Proposals.ProposalStore(_ws.Dataset), null, false);

        Assert.Null(state.Calibration);
        Assert.Contains(state.Warnings, w => w.Contains("symbolic link", StringComparison.Ordinal));
    }
}
