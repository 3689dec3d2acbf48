using System.Text.Json;
using Owlbox.Cli.Review;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.Datasets.Review;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Provenance;

namespace Owlbox.Cli.Tests;

/// <summary>The review page's state kept between requests: after the server's own change only the images it touched are
/// rebuilt, and the result is what a rebuild from the files gives; a write by anyone else is seen.</summary>
public sealed class ReviewStateCacheTests : IDisposable
{
    private const string Image = "busy-800x450.jpg";
    private readonly Workspace _ws = new();
    private readonly ProposalStore _store;

    public ReviewStateCacheTests()
    {
        _store = new ProposalStore(_ws.Dataset);
        _store.Save(new ProposalSet
        {
            JobId = "r",
            CreatedUtc = DateTimeOffset.UtcNow,
            ModelId = "m",
            ModelType = "owlv2",
            Prompt = "cat",
            DeleteExisting = "no",
            Samples = [new SampleProposal(Image, [], [], new Dictionary<string, string>(), [Box(10, 0.9), Box(200, 0.4)])],
        });
    }

    public void Dispose() => _ws.Dispose();

    private static ProposedBox Box(int x, double score) => new("cat", x, 10, 50, 50, new BoxProvenance("m", 1, "cat", score, 0, 0.1, true, 0.2, false, 0, 0));

    private string Rebuilt() => JsonSerializer.Serialize(ReviewState.Build(LocalDataset.Open(_ws.Dataset), _store, null, false));

    [Fact]
    public async Task AfterTheServersOwnChange_TheStateIsWhatARebuildGives()
    {
        var cache = new ReviewStateCache(_ws.Dataset, _store);
        var review = new DatasetReview(_ws.Dataset);
        Assert.Equal(Rebuilt(), JsonSerializer.Serialize(cache.Get(null, false)));

        cache.Refresh(await review.DecideAsync("tab", [new("r", Image, 0)], ReviewDecision.Accepted, CancellationToken.None));
        var afterAccept = JsonSerializer.Serialize(cache.Get(null, false));
        Assert.Contains("\"Decision\":\"accepted\"", afterAccept, StringComparison.Ordinal);
        Assert.Equal(Rebuilt(), afterAccept);

        cache.Refresh(await review.UndoAsync("tab", CancellationToken.None) ?? []);
        Assert.Equal(Rebuilt(), JsonSerializer.Serialize(cache.Get(null, false)));
        Assert.Equal(1, cache.Rebuilds); // the first request only: the changes rebuilt the image they touched
    }

    [Fact]
    public async Task AWriteBySomeoneElse_IsSeenAtTheNextRequest()
    {
        var cache = new ReviewStateCache(_ws.Dataset, _store);
        _ = cache.Get(null, false);
        await new LocalDatasetBackend(_ws.Dataset, writeThrough: true).UpdateLabelsAsync(
            [LabelUpdate.ReplaceBoxes(Image, [new LabeledBox("dog", 1, 2, 30, 40)])], CancellationToken.None);

        var state = cache.Get(null, false);

        Assert.Equal(["dog"], state.Images.Single(i => i.Id == Image).Labels.Select(l => l.Label));
        Assert.Equal(2, cache.Rebuilds);
        Assert.Equal(Rebuilt(), JsonSerializer.Serialize(state));
    }
}
