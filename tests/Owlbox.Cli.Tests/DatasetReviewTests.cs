using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.Datasets.Review;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Provenance;

namespace Owlbox.Cli.Tests;

/// <summary>What the review page's decisions do to the files, without a browser: the locked merge, no doubles,
/// undo, and an edit made meanwhile kept.</summary>
public sealed class DatasetReviewTests : IDisposable
{
    private const string Image = "busy-800x450.jpg";
    private readonly Workspace _ws = new();

    public DatasetReviewTests() => new ProposalStore(_ws.Dataset).Save(new ProposalSet
    {
        JobId = "r",
        CreatedUtc = DateTimeOffset.UtcNow,
        ModelId = "m",
        ModelType = "owlv2",
        Prompt = "cat",
        DeleteExisting = "no",
        Samples = [new SampleProposal(Image, [], [], new Dictionary<string, string>(), [Box(10, 0.9), Box(200, 0.4)])],
    });

    public void Dispose() => _ws.Dispose();

    private static ProposedBox Box(int x, double score) => new("cat", x, 10, 50, 50, new BoxProvenance("m", 1, "cat", score, 0, 0.1, true, 0.2, false, 0, 0));

    private IReadOnlyList<LabeledBox> Labels => LabelsFile.Load(_ws.LabelsPath).GetBoxes(Image);

    private IReadOnlyList<ProposedBox> Detections => new ProposalStore(_ws.Dataset).Load("r").Samples.Single().Detections;

    [Fact]
    public async Task AcceptingTwice_AddsTheBoxOnce_WithItsScore_AndUndoTakesItOut()
    {
        var review = new DatasetReview(_ws.Dataset);

        await review.DecideAsync("tab", [new("r", Image, 0)], ReviewDecision.Accepted, CancellationToken.None);
        // A second page (or a crash before the decision was recorded, then a retry) accepts the same box again.
        await new DatasetReview(_ws.Dataset).DecideAsync("tab", [new("r", Image, 0)], ReviewDecision.Accepted, CancellationToken.None);
        var labelsAfterCrash = File.ReadAllText(_ws.LabelsPath);

        Assert.Equal([new LabeledBox("cat", 10, 10, 50, 50)], Labels);
        Assert.Equal(0.9, Labels[0].Score);
        Assert.Equal([ReviewDecision.Accepted, null], Detections.Select(d => d.Decision));
        Assert.Equal(labelsAfterCrash, File.ReadAllText(_ws.LabelsPath));

        Assert.NotNull(await review.UndoAsync("tab", CancellationToken.None));
        Assert.Empty(Labels);
        Assert.All(Detections, d => Assert.Null(d.Decision));
        Assert.Null(await review.UndoAsync("tab", CancellationToken.None)); // nothing left to undo
    }

    [Fact]
    public async Task ABoxAddedByAnotherWriterMeanwhile_IsKept_ThroughAcceptAndUndo()
    {
        var review = new DatasetReview(_ws.Dataset);
        await review.DecideAsync("tab", [new("r", Image, 1)], ReviewDecision.Accepted, CancellationToken.None);
        // A job (or a person in an editor) adds a box while the page is open.
        await new LocalDatasetBackend(_ws.Dataset).UpdateLabelsAsync(
            [new LabelUpdate(Image, current => current with { Boxes = [.. current.Boxes, new LabeledBox("dog", 400, 300, 60, 60)] })], CancellationToken.None);

        await review.UndoAsync("tab", CancellationToken.None);

        Assert.Equal([new LabeledBox("dog", 400, 300, 60, 60)], Labels);
    }

    [Fact]
    public async Task ARejectedBox_NeverReachesTheLabels_AndADecidedBoxIsNotDecidedAgain()
    {
        var review = new DatasetReview(_ws.Dataset);

        await review.DecideAsync("tab", [new("r", Image, 1)], ReviewDecision.Rejected, CancellationToken.None);
        var changed = await review.DecideAsync("tab", [new("r", Image, 1)], ReviewDecision.Accepted, CancellationToken.None);

        Assert.Empty(changed);
        Assert.Empty(Labels);
        Assert.Equal([null, ReviewDecision.Rejected], Detections.Select(d => d.Decision));
    }
}
