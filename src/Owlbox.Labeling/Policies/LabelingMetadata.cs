namespace Owlbox.Labeling.Policies;

/// <summary>Sample metadata written with the boxes: the original block's <c>labeled_by</c> and <c>prompt</c>, plus the exact
/// model, merged over the sample's existing metadata (Edge Impulse metadata values are strings).</summary>
public static class LabelingMetadata
{
    public const string LabeledBy = "labeled_by";
    public const string Prompt = "prompt";
    public const string Model = "labeled_by_model";

    /// <param name="modelType">"owlv2" or "owlvit": the original block writes "owlv2" here, and filters downstream may rely on it.</param>
    public static IReadOnlyDictionary<string, string> Merge(
        IReadOnlyDictionary<string, string>? existing, string modelType, string modelId, string promptText)
    {
        var merged = existing is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(existing, StringComparer.Ordinal);
        merged[LabeledBy] = modelType;
        merged[Prompt] = promptText;
        merged[Model] = modelId;
        return merged;
    }
}
