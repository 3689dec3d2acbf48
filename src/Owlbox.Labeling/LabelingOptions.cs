using Owlbox.Labeling.Filtering;
using Owlbox.Labeling.Policies;

namespace Owlbox.Labeling;

/// <summary>Everything a labeling job decides besides the prompt and the samples.</summary>
public sealed record LabelingOptions
{
    /// <summary>
    /// Scores at or below this never leave the detector. 0.1 is the default threshold of the HF pipeline the original
    /// Edge Impulse block called, so a line written as "(label)" (confidence 0) behaves as it did there.
    /// </summary>
    public double ScoreFloor { get; init; } = 0.1;

    public FilterOptions Filter { get; init; } = new();

    public DeleteExistingPolicy DeleteExisting { get; init; } = DeleteExistingPolicy.No;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>(Filter.Validate());
        if (!double.IsFinite(ScoreFloor) || ScoreFloor is < 0 or >= 1)
        {
            errors.Add($"--score-floor must be at least 0 and below 1, got {ScoreFloor}");
        }
        return errors;
    }
}
