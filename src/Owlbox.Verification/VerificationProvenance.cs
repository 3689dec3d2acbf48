using Owlbox.Labeling.Provenance;

namespace Owlbox.Verification;

/// <summary>A decision as its provenance is kept (proposal sets, sample metadata, messages): only boxes the stage
/// considered asking about get one; boxes it trusted (score at or above verify-below) or did not select get none.</summary>
public static class VerificationProvenance
{
    public static BoxVerification? For(BoxDecision d) => d.Kind switch
    {
        DecisionKind.Kept => new(BoxVerification.Kept, d.From, d.Model, d.RawAnswer, d.Reason, d.Cached),
        DecisionKind.Relabelled => new(BoxVerification.Relabelled, d.From, d.Model, d.RawAnswer, d.Reason, d.Cached),
        DecisionKind.Removed => new(BoxVerification.Removed, d.From, d.Model, d.RawAnswer, d.Reason, d.Cached),
        DecisionKind.BudgetSpent => new("budget-spent", d.From, null, null, d.Reason, false),
        DecisionKind.OffImage => new("off-image", d.From, null, null, d.Reason, false),
        DecisionKind.Failed => new("failed", d.From, d.Model, d.RawAnswer, d.Reason, false),
        _ => null,
    };
}
