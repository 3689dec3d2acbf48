using System.Diagnostics;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;

namespace Owlbox.Cli.Review;

/// <summary>
/// The review page's changes are journaled (<see cref="Owlbox.Datasets.Review.DatasetReview"/>, journaled: one record a
/// request, flushed to disk before the request returns), so a click costs its boxes, not the dataset. This folds the
/// journal into the labels file, the file other tools read, once the page has had no change for <see cref="Quiet"/>
/// (a fold rewrites the whole file: it waits for a pause rather than delaying the reviewer's next click), and when the
/// server stops. The labels file's index is then built at once, so the page's next read does not pay for it. A journal
/// left by a crash is folded by the next process that opens the dataset, this page's start included.
/// </summary>
public sealed class ReviewFolding(string directory)
{
    public static readonly TimeSpan Quiet = TimeSpan.FromSeconds(2);

    private long _lastChange = Stopwatch.GetTimestamp();

    /// <summary>A change was journaled now.</summary>
    public void Changed() => Interlocked.Exchange(ref _lastChange, Stopwatch.GetTimestamp());

    /// <summary>Folds whenever the page has been quiet long enough, until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            if (Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastChange)) < Quiet)
            {
                continue;
            }
            try
            {
                if (await FoldAsync(cancellationToken).ConfigureAwait(false))
                {
                    Folded?.Invoke();
                }
            }
            catch (Exception e) when (e is DatasetException or IOException or UnauthorizedAccessException)
            {
                // The labels file made invalid meanwhile, or its lock held past the wait (a long import into the folder):
                // the journal keeps every change, and the next quiet tick tries again, as does the fold at stop.
                FoldFailed?.Invoke(e);
            }
        }
    }

    /// <summary>A quiet-time fold wrote the journal into the labels file.</summary>
    public event Action? Folded;

    /// <summary>A quiet-time fold could not be made now (the reason); it is tried again at the next quiet tick.</summary>
    public event Action<Exception>? FoldFailed;

    /// <summary>Folds the journal now, if there is one, and indexes the labels file it leaves; whether there was one.</summary>
    public async Task<bool> FoldAsync(CancellationToken cancellationToken)
    {
        if (!LabelJournal.HasPending(directory))
        {
            return false;
        }
        await LabelJournal.FoldPendingAsync(directory, cancellationToken).ConfigureAwait(false);
        _ = LabelsFile.Read(Path.Combine(directory, LabelsFile.FileName), []);
        return true;
    }
}
