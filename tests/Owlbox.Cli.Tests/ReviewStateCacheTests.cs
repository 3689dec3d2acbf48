using System.Text.Json;
using Owlbox.Cli.Review;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.Datasets.Review;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Provenance;

namespace Owlbox.Cli.Tests;

/// <summary>The review page's state a page at a time: each page holds the images a whole build gives for those names,
/// the totals count every page, and both stay right after the server's own changes (journaled) and anyone else's.</summary>
public sealed class ReviewStateCacheTests : IDisposable
{
    private const int Limit = 5;
    private readonly Workspace _ws = new Workspace().WithCopies(1); // 12 images: three pages of 5
    private readonly ProposalStore _store;
    private readonly string[] _images;

    public ReviewStateCacheTests()
    {
        _store = new ProposalStore(_ws.Dataset);
        _images = _ws.Images.ToArray();
        // Proposals on every other image: two pending boxes each.
        _store.Save(new ProposalSet
        {
            JobId = "r",
            CreatedUtc = DateTimeOffset.UtcNow,
            ModelId = "m",
            ModelType = "owlv2",
            Prompt = "cat",
            DeleteExisting = "no",
            Samples = _images.Where((_, i) => i % 2 == 0).Select(id => new SampleProposal(id, [], [], new Dictionary<string, string>(), [Box(10, 0.9), Box(200, 0.4)])).ToList(),
        });
    }

    public void Dispose() => _ws.Dispose();

    private static ProposedBox Box(int x, double score) => new("cat", x, 10, 50, 50, new BoxProvenance("m", 1, "cat", score, 0, 0.1, true, 0.2, false, 0, 0));

    /// <summary>Every image built whole from the files (the labels file read whole, after folding the journal).</summary>
    private Dictionary<string, string> Rebuilt() => ReviewState.Build(LocalDataset.Open(_ws.Dataset), _store, null, false).Images
        .ToDictionary(i => i.Id, i => JsonSerializer.Serialize(i), StringComparer.Ordinal);

    /// <summary>The totals counted from the set and the folder as they are now.</summary>
    private ReviewState.Totals Counted()
    {
        var detections = _store.Load("r").Samples.Where(s => _images.Contains(s.SampleId)).SelectMany(s => s.Detections).ToArray();
        var samples = _store.Load("r").Samples;
        return new ReviewState.Totals(_images.Length, samples.Count(s => s.Detections.Count > 0),
            samples.Count(s => s.Detections.Any(d => d.Decision is null)),
            detections.Count(d => d.Decision is null), detections.Count(d => d.Decision == ReviewDecision.Accepted), detections.Count(d => d.Decision == ReviewDecision.Rejected));
    }

    /// <summary>Every page of <paramref name="cache"/>, checked against a whole build: the right images, in order, each as
    /// the whole build has it, and the same totals on every page.</summary>
    private void AssertPagesAreTheWholeBuild(ReviewStateCache cache, bool pendingOnly = false)
    {
        var rebuilt = Rebuilt();
        var expected = pendingOnly ? _store.Load("r").Samples.Where(s => s.Detections.Any(d => d.Decision is null)).Select(s => s.SampleId).Order(StringComparer.Ordinal).ToArray() : _images;
        var seen = new List<string>();
        for (var offset = 0; offset == 0 || offset < expected.Length; offset += Limit)
        {
            var state = cache.Get(null, new PageRequest(offset, Limit, pendingOnly), false);
            Assert.Equal(new ReviewState.PageView(offset, Limit, pendingOnly ? "pending" : "all", expected.Length), state.Page);
            Assert.Equal(Counted(), state.Totals);
            Assert.InRange(state.Images.Count, 0, Limit);
            foreach (var image in state.Images)
            {
                Assert.Equal(rebuilt[image.Id], JsonSerializer.Serialize(image));
            }
            seen.AddRange(state.Images.Select(i => i.Id));
        }
        Assert.Equal(expected, seen);
    }

    [Fact]
    public void Paging_ReturnsEachImageOnce_InNameOrder_WithTheTotalsOfEveryPage()
    {
        var cache = new ReviewStateCache(_ws.Dataset, _store);

        AssertPagesAreTheWholeBuild(cache);
        AssertPagesAreTheWholeBuild(cache, pendingOnly: true);
        var first = cache.Get(null, new PageRequest(0, Limit, false), false);
        Assert.Equal(new ReviewState.Totals(12, 6, 6, 12, 0, 0), first.Totals);
        // The label filter's names: the set's and the page's labels'.
        Assert.Equal(first.Images.SelectMany(i => i.Labels.Select(l => l.Label)).Append("cat").Distinct().Order(StringComparer.Ordinal), first.Labels);
    }

    [Fact]
    public async Task TheTotals_StayRight_AfterAcceptRejectAndUndo_OnSeveralPages()
    {
        var cache = new ReviewStateCache(_ws.Dataset, _store);
        var review = new DatasetReview(_ws.Dataset, journaled: true);
        _ = cache.Get(null, PageRequest.First, false);
        string first = _images[0], last = _images[10]; // page 1 and page 3

        cache.Refresh(await review.DecideAsync("tab", [new("r", first, 0), new("r", last, 0), new("r", last, 1)], ReviewDecision.Accepted, CancellationToken.None));
        Assert.True(LabelJournal.HasPending(_ws.Dataset)); // journaled, not yet folded: the pages show it all the same
        var afterAccept = cache.Get(null, new PageRequest(10, Limit, false), false);
        Assert.Equal(new ReviewState.Totals(12, 6, 5, 9, 3, 0), afterAccept.Totals);
        Assert.Equal(2, afterAccept.Images.Single(i => i.Id == last).Proposals.Count(p => p.Decision == "accepted"));
        Assert.Equal(2, afterAccept.Images.Single(i => i.Id == last).Labels.Count(l => l.Label == "cat"));
        AssertPagesAreTheWholeBuild(cache);

        cache.Refresh(await review.DecideAsync("tab", [new("r", _images[4], 1)], ReviewDecision.Rejected, CancellationToken.None));
        Assert.Equal(new ReviewState.Totals(12, 6, 5, 8, 3, 1), cache.Get(null, PageRequest.First, false).Totals);
        AssertPagesAreTheWholeBuild(cache, pendingOnly: true);

        cache.Refresh(await review.UndoAsync("tab", CancellationToken.None) ?? []);
        cache.Refresh(await review.UndoAsync("tab", CancellationToken.None) ?? []);
        Assert.Equal(new ReviewState.Totals(12, 6, 6, 12, 0, 0), cache.Get(null, PageRequest.First, false).Totals);
        AssertPagesAreTheWholeBuild(cache);
    }

    [Fact]
    public void APagePastTheLastImage_IsRefused_SayingWhereTheLastPageStarts()
    {
        var cache = new ReviewStateCache(_ws.Dataset, _store);

        var e = Assert.Throws<PageException>(() => cache.Get(null, new PageRequest(15, Limit, false), false));

        Assert.Equal(12, e.Matching);
        Assert.Contains("offset 15 is past the last image (12 in the dataset); the last page starts at offset 10", e.Message, StringComparison.Ordinal);
        Assert.Throws<PageException>(() => cache.Get(null, new PageRequest(6, Limit, true), false)); // 6 with pending boxes
        Assert.Empty(new ReviewStateCache(_ws.Dataset, new ProposalStore(_ws.Dataset)).Get("no-such-set", new PageRequest(0, Limit, true), false).Images);
    }

    [Fact]
    public async Task AWriteBySomeoneElse_IsSeenAtTheNextRequest()
    {
        var cache = new ReviewStateCache(_ws.Dataset, _store);
        _ = cache.Get(null, PageRequest.First, false);
        await new LocalDatasetBackend(_ws.Dataset, writeThrough: true).UpdateLabelsAsync(
            [LabelUpdate.ReplaceBoxes(_images[0], [new LabeledBox("dog", 1, 2, 30, 40)])], CancellationToken.None);
        var set = _store.Load("r");
        _store.Save(set with { Samples = [.. set.Samples.Skip(1)] }); // a job rewrote the set: the first image has no proposals now

        var state = cache.Get(null, PageRequest.First, false);

        Assert.Equal(["dog"], state.Images.Single(i => i.Id == _images[0]).Labels.Select(l => l.Label));
        Assert.Equal(5, state.Totals!.ImagesWithProposals);
        AssertPagesAreTheWholeBuild(cache);
    }

    [Fact]
    public void TheFolder_IsListedOnce_UntilAnImageIsAddedOrRemoved()
    {
        // A folder last changed a minute ago: a listing now is known to be its last.
        Directory.SetLastWriteTimeUtc(_ws.Dataset, DateTime.UtcNow.AddMinutes(-1));
        var cache = new ReviewStateCache(_ws.Dataset, _store);
        _ = cache.Get(null, PageRequest.First, false);
        _ = cache.Get(null, new PageRequest(5, Limit, false), false);
        Assert.Equal(1, cache.Listings);

        File.Copy(Path.Combine(_ws.Dataset, _images[0]), Path.Combine(_ws.Dataset, "aaa-new.jpg"));
        var state = cache.Get(null, PageRequest.First, false);

        Assert.Equal(2, cache.Listings);
        Assert.Equal("aaa-new.jpg", state.Images[0].Id);
        Assert.Equal(13, state.Totals!.Images);
    }

    [Fact]
    public void AFolderChangedJustNow_IsListedAgain_AChangeInTheSameClockTickIsNotMissed()
    {
        var written = DateTime.UtcNow.AddMinutes(1); // a folder time not yet past: a change may follow within its tick
        Directory.SetLastWriteTimeUtc(_ws.Dataset, written);
        var cache = new ReviewStateCache(_ws.Dataset, _store);
        _ = cache.Get(null, PageRequest.First, false);
        File.Copy(Path.Combine(_ws.Dataset, _images[0]), Path.Combine(_ws.Dataset, "aaa-new.jpg"));
        Directory.SetLastWriteTimeUtc(_ws.Dataset, written); // as a file system whose clock did not tick between the two

        Assert.Equal("aaa-new.jpg", cache.Get(null, PageRequest.First, false).Images[0].Id);
    }
}
