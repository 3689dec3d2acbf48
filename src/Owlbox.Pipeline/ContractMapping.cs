using Owlbox.Contracts.V1;
using Owlbox.Datasets.Proposals;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Filtering;
using Owlbox.Labeling.Policies;
using Owlbox.Labeling.Provenance;
using Owlbox.Labeling;

namespace Owlbox.Pipeline;

/// <summary>Between the wire forms (job options, detected objects) and the labeling logic's: the one place a box or an
/// option changes representation.</summary>
public static class ContractMapping
{
    /// <summary>A kept detection as it travels from the detector to the writer: integer pixels and its provenance.</summary>
    public static DetectedObject ToContract(this DetectedBox d) => new(d.Label, d.Box.X, d.Box.Y, d.Box.Width, d.Box.Height,
        Math.Round(d.Score, 6), d.Line.LineNumber, d.Line.SearchText, d.Line.MinConfidence);

    /// <summary>Why the box exists, from what it carried on the wire and the job's thresholds.</summary>
    public static BoxProvenance Provenance(this DetectedObject o, string modelId, LabelingOptions options) =>
        BoxProvenance.For(modelId, o.PromptLine, o.SearchText, o.Score, o.MinConfidence, options);

    /// <summary>A proposal set's verdict on the wire, from the verifier to the writer.</summary>
    public static DetectionVerdict ToContract(this BoxVerdict v) => new(v.Box, v.Verdict, v.From, v.Model, v.Answer, v.Reason, v.Text);

    /// <summary>The verdict on a judged detection as proposal sets and metadata keep it, with the detection as the
    /// detector found it (label before); null when the verifier did not judge it.</summary>
    public static BoxVerdict? Verdict(this DetectedObject o) => o.Verification is { } v
        ? new BoxVerdict(v.Box, v.Verdict, v.From, o.Label, v.Model, v.Answer, v.Reason, v.Text) { Detection = o.ToLabeledBox() with { Label = v.From } }
        : null;

    public static LabeledBox ToLabeledBox(this DetectedObject o) => new(o.Label, o.X, o.Y, o.Width, o.Height) { Score = o.Score };

    public static JobOptions ToContract(this LabelingOptions o) => new(
        o.ScoreFloor, o.Filter.Nms, o.Filter.NmsIouThreshold, o.Filter.ClassAgnosticNms,
        o.Filter.IgnoreSmallerThanPercent, o.Filter.IgnoreLargerThanPercent, o.DeleteExisting.ToArgument());

    public static LabelingOptions ToLabelingOptions(this JobOptions o)
    {
        if (!DeleteExistingPolicyNames.TryParse(o.DeleteExisting, out var policy))
        {
            // No parameter name: the message reaches users (a gateway's 400), who never saw a parameter 'o'.
            throw new ArgumentException($"options.deleteExisting '{o.DeleteExisting}' must be no, matching-prompt or yes");
        }
        return new LabelingOptions
        {
            ScoreFloor = o.ScoreFloor,
            DeleteExisting = policy,
            Filter = new FilterOptions
            {
                Nms = o.Nms,
                NmsIouThreshold = o.NmsIouThreshold,
                ClassAgnosticNms = o.ClassAgnosticNms,
                IgnoreSmallerThanPercent = o.IgnoreSmallerThanPercent,
                IgnoreLargerThanPercent = o.IgnoreLargerThanPercent,
            },
        };
    }
}
