using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Review;

namespace Owlbox.Labeling.Tests.Review;

public class ReviewTriageTests
{
    private static readonly PixelBox s_cat = new(0, 0, 100, 100);

    private static TriageBox B(string label, int x, int y, int w, int h, double score = 1) => new(label, new PixelBox(x, y, w, h), score);

    public static TheoryData<string, TriageBox[], TriageBox[], string, string> Cases => new()
    {
        { "exact box found", [B("cat", 0, 0, 100, 100, 0.9)], [B("cat", 0, 0, 100, 100)], "Match", "Found" },
        { "IoU 0.81 is a match", [B("cat", 10, 10, 90, 90, 0.9)], [B("cat", 0, 0, 100, 100)], "Match", "Found" },
        { "IoU 0.25 overlaps loosely", [B("cat", 50, 0, 100, 50, 0.9)], [B("cat", 0, 0, 100, 100)], "LowIoU", "Missed" },
        { "no overlap is extra, label missed", [B("cat", 200, 200, 50, 50, 0.9)], [B("cat", 0, 0, 100, 100)], "Extra", "Missed" },
        { "other label never matches", [B("dog", 0, 0, 100, 100, 0.9)], [B("cat", 0, 0, 100, 100)], "Extra", "Missed" },
        { "no labels: every proposal extra", [B("cat", 0, 0, 10, 10, 0.3), B("cat", 50, 50, 10, 10, 0.2)], [], "Extra Extra", "" },
        { "no proposals: every label missed", [], [B("cat", 0, 0, 10, 10), B("dog", 5, 5, 10, 10)], "", "Missed Missed" },
        // The higher-scored of two proposals on one object takes it; the other is an extra overlap (loose to nothing left).
        { "duplicate: higher score matches", [B("cat", 2, 2, 100, 100, 0.4), B("cat", 0, 0, 100, 100, 0.8)], [B("cat", 0, 0, 100, 100)], "Extra Match", "Found" },
        { "two objects, two proposals", [B("cat", 0, 0, 100, 100, 0.5), B("cat", 300, 0, 100, 100, 0.6)], [B("cat", 300, 0, 100, 100), B("cat", 0, 0, 100, 100)], "Match Match", "Found Found" },
        { "IoU exactly 0.5 is a match", [B("cat", 0, 0, 100, 50, 0.9)], [B("cat", 0, 0, 100, 100)], "Match", "Found" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Classify(string because, TriageBox[] proposals, TriageBox[] labels, string expectedProposals, string expectedLabels)
    {
        var result = ReviewTriage.Classify(proposals, labels);

        Assert.Equal($"{because}: {expectedProposals} | {expectedLabels}",
            $"{because}: {string.Join(" ", result.Proposals)} | {string.Join(" ", result.Labels)}");
    }
}
