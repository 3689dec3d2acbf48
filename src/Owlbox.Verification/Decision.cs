namespace Owlbox.Verification;

/// <summary>What became of one box.</summary>
public enum DecisionKind
{
    /// <summary>The model named the box's own label.</summary>
    Kept,

    /// <summary>The model named another allowed label; <see cref="BoxDecision.From"/> holds the old one.</summary>
    Relabelled,

    /// <summary>The model answered a disable word: the box goes.</summary>
    Removed,

    /// <summary>Not a box of the labels being verified: untouched, no call.</summary>
    NotSelected,

    /// <summary>Its score is at or above verify-below: trusted, untouched, no call.</summary>
    ScoreAbove,

    /// <summary>The call budget was spent before this box: untouched, counted as left.</summary>
    BudgetSpent,

    /// <summary>Nothing of the box lies inside the image: untouched, no call.</summary>
    OffImage,

    /// <summary>The model could not answer (after retries), timed out, or answered something that is not an allowed
    /// answer: untouched, and its sample fails.</summary>
    Failed,
}

/// <summary>One box's decision, with its provenance: the model, its raw answer, where it came from and why.</summary>
/// <param name="Index">The box's position in the list given.</param>
/// <param name="Label">The label after the decision (the new one when relabelled; the old one otherwise).</param>
/// <param name="From">The label before (set for every decision).</param>
/// <param name="Model">The model that answered, when one did (or was asked).</param>
/// <param name="RawAnswer">The model's answer as received, when there was one.</param>
/// <param name="Reason">Why, in words (for failures and skips; a model's stated reason when it gives one).</param>
/// <param name="Cached">The answer came from the cache: no call was made.</param>
public sealed record BoxDecision(
    int Index,
    DecisionKind Kind,
    string Label,
    string From,
    string? Model = null,
    string? RawAnswer = null,
    string? Reason = null,
    bool Cached = false)
{
    /// <summary>The box is in the output (everything but a removal).</summary>
    public bool Keeps => Kind != DecisionKind.Removed;

    /// <summary>A failure: the box's sample should be reported as failed (its boxes unchanged).</summary>
    public bool IsFailure => Kind == DecisionKind.Failed;

    /// <summary>One line for a log or the review page: "kept", "relabelled from cat", "removed (answer: remove)".</summary>
    public string Describe() => Kind switch
    {
        DecisionKind.Kept => "kept",
        DecisionKind.Relabelled => $"relabelled from {From}",
        DecisionKind.Removed => $"removed (answer: {RawAnswer?.Trim()})",
        DecisionKind.NotSelected => "not verified (label not selected)",
        DecisionKind.ScoreAbove => "not verified (score at or above verify-below)",
        DecisionKind.BudgetSpent => "not verified (call budget spent)",
        DecisionKind.OffImage => "not verified (box outside the image)",
        _ => $"failed: {Reason}",
    };
}

/// <summary>Token usage, added up over calls (cache hits add nothing).</summary>
public sealed record TokenUsage(long InputTokens, long OutputTokens)
{
    public static readonly TokenUsage Zero = new(0, 0);

    public TokenUsage Add(TokenUsage other) => new(InputTokens + other.InputTokens, OutputTokens + other.OutputTokens);
}
