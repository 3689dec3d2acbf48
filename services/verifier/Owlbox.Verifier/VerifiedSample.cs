using Owlbox.Contracts.V1;
using Owlbox.Pipeline;
using Owlbox.Verification;

namespace Owlbox.Verifier;

/// <summary>A sample's detections after the model's verdicts (pure): relabelled boxes take their new label, removed
/// ones go (kept for their verdicts), every box judged carries its verdict; or, when any box could not be verified,
/// the sample's failure with every such box and its reason, and no box changed.</summary>
public static class VerifiedSample
{
    public static (SampleDetected? Result, string? Failure) Apply(SampleDetected detected, ImageVerification verification)
    {
        var failures = verification.Decisions.Where(d => d.IsFailure).ToArray();
        if (failures.Length > 0)
        {
            return (null, "the vision model could not verify " + string.Join("; ", failures.Select(f =>
            {
                var o = detected.Objects[f.Index];
                return $"box {f.Index + 1} ({o.Label} at {o.X},{o.Y} {o.Width}x{o.Height}): {f.Reason}";
            })));
        }
        var kept = new List<DetectedObject>();
        var removed = new List<DetectedObject>();
        // The one verdict form (owlbox verify's); boxes trusted, not selected or left by the budget get none.
        var verdicts = VerificationProvenance.Verdicts(verification.Decisions).ToDictionary(v => v.Box);
        foreach (var d in verification.Decisions)
        {
            var o = detected.Objects[d.Index];
            var verdict = verdicts.GetValueOrDefault(d.Index)?.ToContract();
            var judged = o with { Label = d.Kind == DecisionKind.Relabelled ? d.Label : o.Label, Verification = verdict };
            (d.Keeps ? kept : removed).Add(judged);
        }
        var usage = new VerificationUsage(verification.Calls, verification.CacheHits, verification.Usage.InputTokens, verification.Usage.OutputTokens,
            verification.Decisions.Count(d => d.Kind == DecisionKind.BudgetSpent));
        return (detected with { Objects = kept, Removed = removed, Verification = usage }, null);
    }
}
