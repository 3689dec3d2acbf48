using Owlbox.Labeling.Boxes;

namespace Owlbox.Labeling.Filtering;

/// <summary>How far one detector's kept boxes are from another's on the same images (int8 vs fp32, a new model
/// version vs the old): boxes pair up greedily by IoU within a label.</summary>
/// <param name="Matched">Pairs with IoU ≥ the pairing threshold.</param>
/// <param name="OnlyInReference">Reference boxes with no partner.</param>
/// <param name="OnlyInCandidate">Candidate boxes with no partner.</param>
/// <param name="MaxCornerShift">Largest distance, in pixels, a paired box's edge moved.</param>
/// <param name="MeanIoU">Mean IoU over the pairs (1 when there are none).</param>
/// <param name="MaxScoreChange">Largest |score difference| over the pairs.</param>
public sealed record DetectionDrift(int Matched, int OnlyInReference, int OnlyInCandidate, int MaxCornerShift, double MeanIoU, double MaxScoreChange)
{
    public static DetectionDrift Empty { get; } = new(0, 0, 0, 0, 1, 0);

    public static DetectionDrift Compare(IReadOnlyList<DetectedBox> reference, IReadOnlyList<DetectedBox> candidate, double pairingIoU = 0.5)
    {
        var free = candidate.ToList();
        int matched = 0, shift = 0;
        double iouSum = 0, scoreChange = 0;
        foreach (var r in reference.OrderByDescending(b => b.Score))
        {
            var best = free.Where(c => c.Label == r.Label).Select(c => (c, iou: c.Box.IoU(r.Box))).Where(t => t.iou >= pairingIoU)
                .OrderByDescending(t => t.iou).FirstOrDefault();
            if (best.c is null)
            {
                continue;
            }
            free.Remove(best.c);
            matched++;
            iouSum += best.iou;
            scoreChange = Math.Max(scoreChange, Math.Abs(best.c.Score - r.Score));
            shift = Math.Max(shift, new[]
            {
                Math.Abs(best.c.Box.X - r.Box.X), Math.Abs(best.c.Box.Y - r.Box.Y),
                Math.Abs(best.c.Box.Right - r.Box.Right), Math.Abs(best.c.Box.Bottom - r.Box.Bottom),
            }.Max());
        }
        return new DetectionDrift(matched, reference.Count - matched, free.Count, shift, matched == 0 ? 1 : iouSum / matched, scoreChange);
    }

    /// <summary>Sums drifts over several images.</summary>
    public DetectionDrift Add(DetectionDrift other) => new(
        Matched + other.Matched, OnlyInReference + other.OnlyInReference, OnlyInCandidate + other.OnlyInCandidate,
        Math.Max(MaxCornerShift, other.MaxCornerShift),
        Matched + other.Matched == 0 ? 1 : (MeanIoU * Matched + other.MeanIoU * other.Matched) / (Matched + other.Matched),
        Math.Max(MaxScoreChange, other.MaxScoreChange));

    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{Matched} boxes paired, {OnlyInReference} lost, {OnlyInCandidate} new; edges moved at most {MaxCornerShift} px, mean IoU {MeanIoU:0.000}, scores moved at most {MaxScoreChange:0.000}");
}
