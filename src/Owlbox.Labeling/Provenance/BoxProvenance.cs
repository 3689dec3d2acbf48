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
    /// <summary>A kept box's provenance: what the detector carried with it (its prompt line, raw score) and the job's
    /// thresholds. The score is kept to 6 decimals, as the box travels.</summary>
    public static BoxProvenance For(string modelId, int promptLine, string searchText, double score, double minConfidence, LabelingOptions options) => new(
        modelId,
        promptLine,
        searchText,
        Math.Round(score, 6),
        minConfidence,
        options.ScoreFloor,
        options.Filter.Nms,
        options.Filter.NmsIouThreshold,
        options.Filter.ClassAgnosticNms,
        options.Filter.IgnoreSmallerThanPercent,
        options.Filter.IgnoreLargerThanPercent);
}
