namespace Owlbox.Verification;

/// <summary>OpenAI's image <c>detail</c>: the block's <c>image-quality</c> parameter (auto, low, high).</summary>
public enum ImageDetail
{
    Auto,
    Low,
    High,
}

/// <summary>The relabel block's parameters (same meanings and defaults), plus what the block lacked.</summary>
public sealed record VerifierOptions
{
    /// <summary>The block's default model.</summary>
    public const string DefaultModel = "gpt-4o-2024-08-06";

    /// <summary>The block's default prompt (parameters.json).</summary>
    public const string DefaultPrompt = "What kind of animal is this? Respond with only the name of the animal. If this is not animal, say 'remove'.";

    public string Model { get; init; } = DefaultModel;

    /// <summary><c>which-labels</c>: the labels whose boxes are asked about, compared trimmed and case-insensitively
    /// (default <c>animal</c>). Empty: every box.</summary>
    public IReadOnlyList<string> WhichLabels { get; init; } = ["animal"];

    /// <summary><c>prompt</c>: sent verbatim with the crop.</summary>
    public string Prompt { get; init; } = DefaultPrompt;

    /// <summary><c>disable-labels</c>: answers that remove the box (default <c>remove</c>).</summary>
    public IReadOnlyList<string> DisableLabels { get; init; } = ["remove"];

    /// <summary><c>image-quality</c>, sent as OpenAI's <c>detail</c>.</summary>
    public ImageDetail ImageQuality { get; init; } = ImageDetail.Auto;

    /// <summary><c>--labels</c>: the answers that may become a label. Empty: any answer becomes the label, as in the
    /// block (free text). The disable words are always allowed on top.</summary>
    public IReadOnlyList<string> AllowedLabels { get; init; } = [];

    /// <summary><c>--verify-below</c>: ask only about boxes whose score is below this; a box with no score
    /// (hand-drawn) is always asked. Null: ask about every selected box.</summary>
    public double? VerifyBelow { get; init; }

    /// <summary><c>concurrency</c>: calls in flight at once across every image of the run (block: 10).</summary>
    public int Concurrency { get; init; } = 10;

    /// <summary>Ask for a JSON schema of the allowed answers (<c>response_format: json_schema</c>) when there is an
    /// allowed set. A server that refuses it (HTTP 400) is asked again without it, and not asked with it again.</summary>
    public bool StructuredOutput { get; init; } = true;

    public CropOptions Crop { get; init; } = new();

    /// <summary>JPEG quality of the crops sent (block: 90).</summary>
    public int JpegQuality { get; init; } = 90;

    public string DetailWord => ImageQuality switch
    {
        ImageDetail.Low => "low",
        ImageDetail.High => "high",
        _ => "auto",
    };

    /// <summary>The answers a model may give: the allowed labels plus the disable words (empty when free text).</summary>
    public IReadOnlyList<string> AllowedAnswers => AllowedLabels.Count == 0
        ? []
        : AllowedLabels.Concat(DisableLabels).Select(a => a.Trim()).Where(a => a.Length > 0)
            .DistinctBy(a => a.ToLowerInvariant()).ToList();

    /// <summary>Parses the block's <c>image-quality</c> value.</summary>
    public static ImageDetail ParseDetail(string value) => value.Trim().ToLowerInvariant() switch
    {
        "auto" or "" => ImageDetail.Auto,
        "low" => ImageDetail.Low,
        "high" => ImageDetail.High,
        _ => throw new ArgumentException($"image-quality must be auto, low or high, not \"{value}\"", nameof(value)),
    };

    /// <summary>Splits a block-style comma list ("animal, Bottle") as the block does: trimmed, lower-cased, empties dropped.</summary>
    public static IReadOnlyList<string> SplitList(string? value) =>
        (value ?? "").Split(',').Select(x => x.Trim().ToLowerInvariant()).Where(x => x.Length > 0).ToList();
}
