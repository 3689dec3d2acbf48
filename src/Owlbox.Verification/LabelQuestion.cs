namespace Owlbox.Verification;

/// <summary>The question a labeling job asks about each low-score detection when the user gives none: which of the
/// prompt's labels the crop shows, or a disable word.</summary>
public static class LabelQuestion
{
    public static string For(IReadOnlyList<string> labels, IReadOnlyList<string> disableLabels)
    {
        var names = string.Join(", ", labels.Select(l => $"'{l}'"));
        var disable = disableLabels.Count > 0 ? disableLabels[0] : "remove";
        return $"Which of these is shown in this picture: {names}? Respond with only that word. If it is none of them, say '{disable}'.";
    }
}
