namespace Owlbox.Labeling.Provenance;

/// <summary>What a vision language model made of a detection (the verification stage): the decision ("kept",
/// "relabelled", "removed", "budget-spent", "off-image"), the label before, the model, its raw answer and the reason,
/// and whether the answer came from the answer cache. Kept with a proposed box, and summed up in the sample's metadata.</summary>
public sealed record BoxVerification(string Decision, string From, string? Model, string? RawAnswer, string? Reason, bool Cached)
{
    public const string Kept = "kept";
    public const string Relabelled = "relabelled";
    public const string Removed = "removed";

    /// <summary>Sample metadata keys (Edge Impulse metadata values are strings), beside the block's <c>labeled_by</c>.</summary>
    public const string VerifiedByKey = "verified_by_model";
    public const string VerificationKey = "verification";

    /// <summary>"dog: relabelled from cat", "cat: removed", "cat: kept" (the raw answer stays with the box's provenance).</summary>
    public string Describe(string label) => Decision switch
    {
        Relabelled => $"{label}: relabelled from {From}",
        Removed => $"{From}: removed",
        Kept => $"{label}: kept",
        _ => $"{label}: {Decision}{(Reason is null ? "" : $" ({Reason})")}",
    };

    /// <summary>The sample's metadata with the verification recorded: the model and one line per verified box
    /// ("dog: relabelled from cat; circle: removed"). Nothing verified: unchanged.</summary>
    public static IReadOnlyDictionary<string, string> MergeMetadata(IReadOnlyDictionary<string, string> metadata,
        IReadOnlyList<(string Label, BoxVerification Verification)> verified)
    {
        if (verified.Count == 0)
        {
            return metadata;
        }
        var merged = new Dictionary<string, string>(metadata, StringComparer.Ordinal);
        if (verified.Select(v => v.Verification.Model).FirstOrDefault(m => m is not null) is { } model)
        {
            merged[VerifiedByKey] = model;
        }
        merged[VerificationKey] = string.Join("; ", verified.Select(v => v.Verification.Describe(v.Label)));
        return merged;
    }
}
