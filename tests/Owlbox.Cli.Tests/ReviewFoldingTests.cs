using Owlbox.Cli.Review;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Cli.Tests;

/// <summary>The review page's quiet-time fold of its journal: a fold that cannot be made now (the labels lock cannot be
/// taken, as when a long import holds it past the wait) is tried again, and the loop goes on; before, the first such
/// error ended the loop silently and the labels file stayed behind the page until it stopped.</summary>
public sealed class ReviewFoldingTests : IDisposable
{
    private readonly Workspace _ws = new Workspace();

    public void Dispose() => _ws.Dispose();

    [Fact]
    public async Task AFoldThatFailsWithAnIoError_IsTriedAgain_AndLandsOnceItCan()
    {
        var image = _ws.Images[0];
        var box = new LabeledBox("cat", 1, 2, 30, 40);
        await new LocalDatasetBackend(_ws.Dataset).UpdateLabelsAsync([LabelUpdate.ReplaceBoxes(image, [box])], CancellationToken.None);
        Assert.True(LabelJournal.HasPending(_ws.Dataset));
        // A folder where the lock file goes: opening it fails at once with an I/O error, as a lock held past the wait does.
        var lockPath = Path.Combine(_ws.Dataset, ".owlbox", "labels.lock");
        File.Delete(lockPath);
        Directory.CreateDirectory(lockPath);

        var folding = new ReviewFolding(_ws.Dataset);
        var failed = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        var folded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        folding.FoldFailed += e => failed.TrySetResult(e);
        folding.Folded += () => folded.TrySetResult();
        using var stop = new CancellationTokenSource();
        var loop = folding.RunAsync(stop.Token);

        // The loop must still run after the error: a loop that ended (its exception) fails here at once.
        var first = await Task.WhenAny(failed.Task, loop).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(first == failed.Task, $"the fold loop ended: {loop.Exception?.InnerException?.Message}");
        var error = await failed.Task;
        Assert.True(error is IOException or UnauthorizedAccessException, error.ToString());
        Directory.Delete(lockPath);
        Assert.True(await Task.WhenAny(folded.Task, loop).WaitAsync(TimeSpan.FromMinutes(2)) == folded.Task, "the fold loop ended");

        Assert.False(LabelJournal.HasPending(_ws.Dataset));
        Assert.Equal([box], LabelsFile.Load(_ws.LabelsPath).GetBoxes(image));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loop);
    }
}
