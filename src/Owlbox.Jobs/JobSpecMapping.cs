using Owlbox.Contracts.V1;
using Owlbox.Labeling;
using Owlbox.Labeling.Filtering;
using Owlbox.Labeling.Policies;

namespace Owlbox.Jobs;

/// <summary>Between the wire form of a job's options and the labeling logic's.</summary>
public static class JobSpecMapping
{
    public static JobOptions ToContract(this LabelingOptions o) => new(
        o.ScoreFloor, o.Filter.Nms, o.Filter.NmsIouThreshold, o.Filter.ClassAgnosticNms,
        o.Filter.IgnoreSmallerThanPercent, o.Filter.IgnoreLargerThanPercent, o.DeleteExisting.ToArgument());

    public static LabelingOptions ToLabelingOptions(this JobOptions o)
    {
        if (!DeleteExistingPolicyNames.TryParse(o.DeleteExisting, out var policy))
        {
            throw new ArgumentException($"delete-existing policy '{o.DeleteExisting}' must be no, matching-prompt or yes", nameof(o));
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
