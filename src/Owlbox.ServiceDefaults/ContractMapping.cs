using Owlbox.Contracts.V1;
using Owlbox.Labeling;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Filtering;
using Owlbox.Labeling.Policies;
using Owlbox.Labeling.Provenance;

namespace Owlbox.ServiceDefaults;

/// <summary>Between the wire forms (job options, detected objects) and the labeling logic's: the one place a box or an
/// option changes representation.</summary>
public static class ContractMapping
{
    /// <summary>A kept detection as it travels from the detector to the writer: integer pixels and its provenance.</summary>
    public static DetectedObject ToContract(this DetectedBox d) => new(d.Label, d.Box.X, d.Box.Y, d.Box.Width, d.Box.Height,
        Math.Round(d.Score, 6), d.Line.LineNumber, d.Line.SearchText, d.Line.MinConfidence);

    public static BoxVerdict ToContract(this BoxVerification v) => new(v.Decision, v.From, v.Model, v.RawAnswer, v.Reason, v.Cached);

    public static BoxVerification ToVerification(this BoxVerdict v) => new(v.Decision, v.From, v.Model, v.RawAnswer, v.Reason, v.Cached);

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
