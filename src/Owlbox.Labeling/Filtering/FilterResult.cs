namespace Owlbox.Labeling.Filtering;

/// <summary>What a filter pass kept (score-descending) and what it dropped, with the reason for each.</summary>
public sealed record FilterResult(IReadOnlyList<DetectedBox> Kept, IReadOnlyList<(DetectedBox Box, RejectionReason Reason)> Rejected);
