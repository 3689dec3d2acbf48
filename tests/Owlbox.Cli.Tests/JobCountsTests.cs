using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Owlbox.Cli;
using Owlbox.Datasets.Local;
using Owlbox.Jobs;

namespace Owlbox.Cli.Tests;

/// <summary>What a job's summary counts is what it did: the boxes the merge actually added to the labels (not the
/// detections it wrote), and a resumed job's count only where it has one.</summary>
public sealed partial class JobCountsTests : IDisposable
{
    private readonly Workspace _ws = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _ws.Dispose();
    }

    private string[] Label(params string[] extra) =>
        ["label", _ws.Dataset, "--model", Workspace.Owlv2Model, "--prompt", "red\nblue\nyellow", "--execution-provider", "cpu", .. extra];

    private int BoxCount() => _ws.Images.Sum(i => LabelsFile.Load(_ws.LabelsPath).GetBoxes(i).Count);

    [GeneratedRegex(@"; (\d+) boxes added;")]
    private static partial Regex BoxesAddedLine();

    private static int BoxesAdded(string output) => int.Parse(BoxesAddedLine().Match(output).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Attack finding F2: the second of two identical runs merges every box into one the images already hold.</summary>
    [Fact]
    public async Task LabelingTwice_KeepingExistingBoxes_TheSecondRunReportsZeroBoxesAdded()
    {
        var before = BoxCount();

        var (first, firstOutput, _) = await Workspace.RunAsync(Label("--delete_existing_bounding_boxes", "no"));
        var afterFirst = BoxCount();
        var (second, secondOutput, _) = await Workspace.RunAsync(Label("--delete_existing_bounding_boxes", "no"));

        Assert.Equal((OwlboxCli.Ok, OwlboxCli.Ok), (first, second));
        Assert.True(afterFirst > before, "the first run adds boxes");
        Assert.Equal(afterFirst - before, BoxesAdded(firstOutput));
        Assert.Equal(afterFirst, BoxCount());
        Assert.Equal(0, BoxesAdded(secondOutput));
    }

    /// <summary>A run stopped while setting up (before its samples were listed) leaves a job with no count: the re-run
    /// resumes it without claiming "0 of 0 samples already written".</summary>
    [Fact]
    public async Task AJobStoppedBeforeListingItsSamples_IsResumedWithoutACountOfNothing()
    {
        var (first, _, _) = await Workspace.RunAsync(Label());
        Assert.Equal(OwlboxCli.Ok, first);
        // The same job as a run stopped at setup leaves it: created, cancelled, nothing listed.
        var path = Path.Combine(_ws.Dataset, ".owlbox", "jobs.db");
        var store = new SqliteJobStore(path);
        Guid done;
        await using (var db = new SqliteConnection($"Data Source={path}"))
        {
            await db.OpenAsync();
            await using var cmd = db.CreateCommand();
            cmd.CommandText = "SELECT job_id FROM owlbox_jobs";
            done = Guid.Parse((string)(await cmd.ExecuteScalarAsync())!);
        }
        var spec = (await store.FindAsync(done, default))!.Spec;
        var stopped = Guid.NewGuid();
        Assert.True(await store.TryCreateAsync(stopped, spec, default));
        Assert.True(await store.CancelAsync(stopped, default));
        Assert.Null((await store.FindAsync(stopped, default))!.Total);

        var (exit, output, _) = await Workspace.RunAsync(Label());

        Assert.Equal(OwlboxCli.Ok, exit);
        Assert.Contains($"Resuming interrupted job {stopped} (the previous run stopped before listing its samples; --fresh starts afresh)", output, StringComparison.Ordinal);
        Assert.DoesNotContain("samples already written", output, StringComparison.Ordinal);
        Assert.Contains($"Labeled {_ws.Images.Count} of {_ws.Images.Count} samples", output, StringComparison.Ordinal);
    }
}
