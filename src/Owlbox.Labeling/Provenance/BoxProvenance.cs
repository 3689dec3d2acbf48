namespace Owlbox.Labeling.Provenance;

/// <summary>Why a proposed box exists: which model and prompt line produced it, its raw score, and every threshold
/// it passed. A reviewer (and later the browser review page) can judge a box from this alone.</summary>
public sealed record BoxProvenance(
    string ModelId,
    int PromptLine,
    string SearchText,
    double Score,
    double MinConfidence,
    double ScoreFloor,
    bool Nms,
    double NmsIouThreshold,
    bool ClassAgnosticNms,
    double IgnoreSmallerThanPercent,
    double IgnoreLargerThanPercent)
{
    public static BoxProvenance For(Filtering.DetectedBox box, string modelId, LabelingOptions options) => new(
        modelId,
        box.Line.LineNumber,
        box.Line.SearchText,
        Math.Round(box.Score, 6),
        box.Line.MinConfidence,
        options.ScoreFloor,
        options.Filter.Nms,
        options.Filter.NmsIouThreshold,
        options.Filter.ClassAgnosticNms,
        options.Filter.IgnoreSmallerThanPercent,
        options.Filter.IgnoreLargerThanPercent);
}
